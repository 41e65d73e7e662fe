//! Planted-module simulators.
