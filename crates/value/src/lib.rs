//! Customer value without I/O: RFM scores and segments, and customer lifetime value from the
//! BG/NBD model of purchase counts (Fader, Hardie & Lee 2005) with the Gamma-Gamma model of
//! spend per purchase (Colombo & Jiang 1999; Fader, Hardie & Lee 2005).
//!
//! Time is counted in whole days: purchases on one day are one transaction (the papers'
//! convention), and a customer's history is summarised by [`Summary`]. Every fit is a maximum
//! likelihood estimate found with Nelder-Mead (`argmin`) over the logarithms of the
//! parameters, so they stay positive, within a box (|ln θ| ≤ 15, the data scaled to means
//! of one) where a likelihood without a finite maximum stops on the boundary (see
//! `optimize`); log-gamma comes from `libm`.

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

/// ln Γ(z + a) − ln Γ(z) for z, a > 0, accurate when z is large: the plain difference of two
/// log-gammas of order z ln z loses all digits of a result of order a ln z once z is in the
/// millions (as a likelihood's parameters are near the fit's bounds, see `optimize`). From
/// z = 100 on it is the difference of Stirling's series,
///
/// ```text
/// (z − ½) ln(1 + a/z) + a ln(z + a) − a + s(z + a) − s(z),
/// s(w) = 1/(12w) − 1/(360w³) + 1/(1260w⁵)   (truncation error < 1e-17 for w ≥ 100)
/// ```
pub(crate) fn ln_gamma_ratio(z: f64, a: f64) -> f64 {
    if z < 100.0 {
        return ln_gamma(z + a) - ln_gamma(z);
    }
    fn s(w: f64) -> f64 {
        let w2 = w * w;
        (1.0 / 12.0 - (1.0 / 360.0 - 1.0 / (1260.0 * w2)) / w2) / w
    }
    (z - 0.5) * (a / z).ln_1p() + a * (z + a).ln() - a + s(z + a) - s(z)
}

/// ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b), accurate when either is large.
pub(crate) fn ln_beta(a: f64, b: f64) -> f64 {
    let (small, large) = if a < b { (a, b) } else { (b, a) };
    ln_gamma(small) - ln_gamma_ratio(large, small)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_gamma_ratio_matches_the_plain_difference_within_its_rounding() {
        for z in [0.3, 5.0, 99.0, 100.0, 150.0, 1e3, 1e4] {
            for a in [0.2, 1.0, 7.5, 60.0] {
                let plain = ln_gamma(z + a) - ln_gamma(z);
                let got = ln_gamma_ratio(z, a);
                // The plain difference is off by a few ulps of ln Γ(z + a).
                let rounding = 1e-15 * ln_gamma(z + a).abs();
                assert!(
                    (got - plain).abs() <= 1e-13 * plain.abs().max(1.0) + rounding,
                    "{z} {a}: {got} vs {plain}"
                );
                let beta = ln_gamma(z) + ln_gamma(a) - ln_gamma(z + a);
                assert!((ln_beta(z, a) - beta).abs() <= 1e-13 * beta.abs().max(1.0) + rounding);
                assert_eq!(ln_beta(z, a), ln_beta(a, z));
            }
        }
    }

    #[test]
    fn the_log_gamma_ratio_keeps_its_digits_for_huge_arguments() {
        // ln Γ(z + 1) − ln Γ(z) = ln z exactly.
        for z in [1e6, 3.3e6, 1e12] {
            let got = ln_gamma_ratio(z, 1.0);
            assert!((got - z.ln()).abs() < 1e-14 * z.ln(), "{z}: {got}");
        }
        // Γ(z + 2) / Γ(z) = z (z + 1).
        let z = 3.3e6;
        assert!((ln_gamma_ratio(z, 2.0) - (z * (z + 1.0)).ln()).abs() < 1e-13);
    }
}
