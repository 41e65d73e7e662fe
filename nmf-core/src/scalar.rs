//! The scalar type every public item is generic over.

use std::fmt::{Debug, Display};

use num_traits::{Float, FromPrimitive, ToPrimitive};

/// A real floating-point scalar usable by every nmf-rs kernel: `f32` or `f64`.
///
/// Implemented once, by a blanket impl, for every type that satisfies the bounds; nobody
/// implements it by hand.
pub trait NmfFloat:
    faer::traits::RealField + Float + FromPrimitive + ToPrimitive + Debug + Display + Default + Send + Sync + 'static
{
    /// Converts an `f64` literal (a constant in the code) into `Self`.
    #[inline(always)]
    fn lit(x: f64) -> Self {
        <Self as FromPrimitive>::from_f64(x).expect("every f64 literal converts to a float")
    }

    /// Converts a count (sizes, iteration numbers) into `Self`.
    #[inline(always)]
    fn from_count(n: usize) -> Self {
        <Self as FromPrimitive>::from_usize(n).expect("every usize converts to a float")
    }

    /// The value as `f64`, for reporting.
    #[inline(always)]
    fn to_f64_lossy(self) -> f64 {
        <Self as ToPrimitive>::to_f64(&self).unwrap_or(f64::NAN)
    }
}

impl<T> NmfFloat for T where
    T: faer::traits::RealField
        + Float
        + FromPrimitive
        + ToPrimitive
        + Debug
        + Display
        + Default
        + Send
        + Sync
        + 'static
{
}
