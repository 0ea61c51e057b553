//! Customer value without I/O: RFM scores and segments, and customer lifetime value from the
//! BG/NBD model of purchase counts (Fader, Hardie & Lee 2005) with the Gamma-Gamma model of
//! spend per purchase (Colombo & Jiang 1999; Fader, Hardie & Lee 2005).
//!
//! Time is counted in whole days: purchases on one day are one transaction (the papers'
//! convention), and a customer's history is summarised by [`Summary`]. Every fit is a maximum
//! likelihood estimate found with Nelder-Mead (`argmin`) over the logarithms of the
//! parameters, so they stay positive; log-gamma comes from `libm`.

mod bgnbd;
mod gamma_gamma;
mod hyp2f1;
mod optimize;
mod rfm;
mod summary;

pub use bgnbd::BgNbd;
pub use gamma_gamma::GammaGamma;
pub use hyp2f1::hyp2f1;
pub use optimize::FitReport;
pub use rfm::{Quintiles, Rfm, Segment, SEGMENTS};
pub use summary::{History, Summary};

/// Why a model could not be fitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FitError {
    /// Too few customers (or repeat customers, for Gamma-Gamma) to estimate anything.
    NotEnoughData(&'static str),
    /// The optimiser failed or ended on a non-finite likelihood.
    NoConvergence(String),
}

impl std::fmt::Display for FitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FitError::NotEnoughData(what) => write!(f, "not enough data: {what}"),
            FitError::NoConvergence(why) => write!(f, "the fit did not converge: {why}"),
        }
    }
}

impl std::error::Error for FitError {}

/// Natural logarithm of the gamma function.
pub(crate) fn ln_gamma(x: f64) -> f64 {
    libm::lgamma(x)
}
