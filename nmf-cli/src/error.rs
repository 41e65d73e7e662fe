//! The CLI's errors and their exit codes: 2 for bad usage or bad input, 1 for internal failures.

use std::path::PathBuf;

use nmf_contrastive::ContrastiveError;
use nmf_core::NmfError;
use thiserror::Error;

use crate::input::InputError;

/// Everything `nmf` can fail with; `Display` is one line.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum CliError {
    /// The input could not be read.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The data or parameters were rejected by the library, or a fit failed.
    #[error("{0}")]
    Nmf(#[from] NmfError),
    /// bcNMF rejected the inputs or parameters, or its fit failed.
    #[error("{0}")]
    Contrastive(#[from] nmf_contrastive::ContrastiveError),
    /// Rank selection or consensus factors failed or were asked for with bad settings.
    #[error("{0}")]
    Select(#[from] nmf_select::SelectError),
    /// A flag's value is invalid.
    #[error("{0}")]
    Usage(String),
    /// The output could not be written.
    #[error("cannot write {path}: {source}")]
    Output {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

impl CliError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Input(_) | CliError::Usage(_) | CliError::Output { .. } => 2,
            CliError::Nmf(e) | CliError::Contrastive(ContrastiveError::Core(e)) => nmf_exit_code(e),
            CliError::Contrastive(_) => 2,
            CliError::Select(e) => match e {
                nmf_select::SelectError::Core(e) => nmf_exit_code(e),
                nmf_select::SelectError::ThreadPool(_) => 1,
                _ => 2,
            },
        }
    }
}

fn nmf_exit_code(e: &NmfError) -> i32 {
    match e {
        NmfError::NonFiniteObjective { .. } | NmfError::Linalg(_) => 1,
        _ => 2,
    }
}

impl From<nmf_core::NmfParamsError> for CliError {
    fn from(e: nmf_core::NmfParamsError) -> Self {
        CliError::Nmf(e.into())
    }
}
