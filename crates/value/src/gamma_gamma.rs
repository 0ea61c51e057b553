//! The Gamma-Gamma model of spend per transaction (Colombo & Jiang 1999; Fader, Hardie & Lee
//! 2005, "RFM and CLV: using iso-value curves for customer base analysis", and Fader &
//! Hardie's note "The Gamma-Gamma model of monetary value", 2013).
//!
//! Each transaction's value is Gamma(p, ν) around a customer's mean p/ν; ν varies across
//! customers as Gamma(q, γ) (`v` here is γ). For a customer with `x` repeat transactions of
//! mean value z̄, the density of z̄ (integrating ν out) is
//!
//! ```text
//! f(z̄ | p, q, γ, x) = Γ(px + q) / (Γ(px) Γ(q)) · γ^q · z̄^(px − 1) · x^(px) / (γ + x z̄)^(px + q)
//! ```
//!
//! and its logarithm
//!
//! ```text
//! ln Γ(px + q) − ln Γ(px) − ln Γ(q) + q ln γ + (px − 1) ln z̄ + px ln x − (px + q) ln(γ + x z̄)
//! ```
//!
//! The fit uses customers with at least one repeat transaction and the mean of their repeat
//! transactions (see [`crate::Summary::repeat_mean`]).

use crate::optimize::{minimise, par_sum, FitReport};
use crate::{ln_beta, ln_gamma, FitError, Summary};
use serde::{Deserialize, Serialize};

/// Fitted Gamma-Gamma parameters (`v` in money units).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GammaGamma {
    pub p: f64,
    pub q: f64,
    pub v: f64,
}

impl GammaGamma {
    /// The log-density of a mean `z` over `x` transactions.
    pub fn log_likelihood(&self, x: u32, z: f64) -> f64 {
        let Self { p, q, v } = *self;
        let x = f64::from(x);
        let px = p * x;
        ln_gamma(px + q) - ln_gamma(px) - ln_gamma(q)
            + q * v.ln()
            + (px - 1.0) * z.ln()
            + px * x.ln()
            - (px + q) * (v + x * z).ln()
    }

    /// Maximum-likelihood fit over the repeat customers among `data`; customers without a
    /// positive repeat mean are left out. The search is bounded (see `optimize`): when every
    /// customer spends alike the likelihood grows as q, γ → ∞ and the estimate is on the
    /// bound, with p γ / (q − 1) the mean spend and every customer's expected spend close to
    /// it (the limit).
    pub fn fit(data: &[Summary]) -> Result<Self, FitError> {
        Self::fit_report(data).map(|(m, _)| m)
    }

    /// [`GammaGamma::fit`], with how the optimisation went.
    pub fn fit_report(data: &[Summary]) -> Result<(Self, FitReport), FitError> {
        let used: Vec<(u32, f64)> = data
            .iter()
            .filter(|s| s.x > 0 && s.repeat_mean > 0.0 && s.repeat_mean.is_finite())
            .map(|s| (s.x, s.repeat_mean))
            .collect();
        if used.len() < 2 {
            return Err(FitError::NotEnoughData(
                "Gamma-Gamma needs repeat customers",
            ));
        }
        // Money is scaled so that the mean spend is 1 (γ scales with money, p and q do not).
        let scale = used.iter().map(|u| u.1).sum::<f64>() / used.len() as f64;
        let scaled: Vec<(f64, f64)> = used
            .iter()
            .map(|&(x, z)| (f64::from(x), z / scale))
            .collect();
        // Summed over customers, the log-density splits into terms of x alone (counted per
        // distinct x), sums fixed by the data, and one logarithm per customer; regrouped so
        // that no two large terms cancel (near the box's boundary, see `optimize`, q and γ
        // are in the millions, as they are when every customer spends alike):
        //
        //   −ln B(px, q) + (px − 1) ln z̄ + px ln x − px ln γ − (px + q) ln(1 + x z̄ / γ)
        //
        // (q ln γ − (px + q) ln(γ + x z̄) = −px ln γ − (px + q) ln(1 + x z̄ / γ)), with ln B
        // from `ln_beta` and the per-customer sum on every core.
        let mut per_x: Vec<(f64, f64)> = Vec::new();
        let mut xs: Vec<u32> = used.iter().map(|u| u.0).collect();
        xs.sort_unstable();
        for x in xs {
            match per_x.last_mut() {
                Some(last) if last.0 == f64::from(x) => last.1 += 1.0,
                _ => per_x.push((f64::from(x), 1.0)),
            }
        }
        let n = scaled.len() as f64;
        let x_ln_z: f64 = scaled.iter().map(|(x, z)| x * z.ln()).sum();
        let ln_z: f64 = scaled.iter().map(|(_, z)| z.ln()).sum();
        let x_ln_x: f64 = scaled.iter().map(|(x, _)| x * x.ln()).sum();
        let sum_x: f64 = scaled.iter().map(|(x, _)| x).sum();
        let nll = |p: &[f64]| {
            let (p, q, v) = (p[0].exp(), p[1].exp(), p[2].exp());
            let by_x: f64 = per_x.iter().map(|&(x, k)| -k * ln_beta(p * x, q)).sum();
            // Σ (px + q) ln(1 + x z̄ / γ): as Σ (px + q) ln(γ + x z̄) − ln γ Σ (px + q) while
            // γ is moderate (as real estimates are: a logarithm is half the cost of ln_1p),
            // with ln_1p towards the bound, where the difference would lose its digits.
            let tail = if v <= 1e3 {
                par_sum(&scaled, |&(x, z)| (p * x + q) * (v + x * z).ln())
                    - v.ln() * (p * sum_x + n * q)
            } else {
                let per_v = 1.0 / v;
                par_sum(&scaled, |&(x, z)| (p * x + q) * (x * z * per_v).ln_1p())
            };
            // The mean per customer: a scale the optimiser's tolerance is meaningful at.
            -(by_x + p * x_ln_z - ln_z + p * x_ln_x - p * v.ln() * sum_x - tail) / n
        };
        let (p, report) = minimise(nll, vec![0.0; 3])?;
        let model = GammaGamma {
            p: p[0].exp(),
            q: p[1].exp(),
            v: p[2].exp() * scale,
        };
        Ok((model, report))
    }

    /// The expected value of a future transaction of a customer with `x` repeat transactions
    /// of mean `z`: p (γ + x z̄) / (p x + q − 1), a weighted mean of the population's
    /// p γ / (q − 1) and the customer's own z̄. `None` when q ≤ 1 (no finite mean).
    pub fn expected_spend(&self, x: u32, z: f64) -> Option<f64> {
        let x = f64::from(x);
        let denominator = self.p * x + self.q - 1.0;
        (denominator > 0.0).then(|| self.p * (self.v + x * z) / denominator)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fast_likelihood_peaks_where_the_customers_likelihoods_do() {
        let data = [
            (1, 10.0),
            (2, 14.0),
            (3, 9.0),
            (1, 30.0),
            (4, 12.5),
            (2, 20.0),
        ]
        .map(|(x, z)| Summary {
            x,
            t_x: 0,
            t: 0,
            repeat_mean: z,
        });
        let m = GammaGamma::fit(&data).unwrap();
        let sum = |m: &GammaGamma| -> f64 {
            data.iter()
                .map(|s| m.log_likelihood(s.x, s.repeat_mean))
                .sum()
        };
        let best = sum(&m);
        for k in 0..3 {
            for f in [0.97, 1.03] {
                let mut p = [m.p, m.q, m.v];
                p[k] *= f;
                let other = GammaGamma {
                    p: p[0],
                    q: p[1],
                    v: p[2],
                };
                assert!(
                    sum(&other) <= best + 1e-9,
                    "{k} {f}: {} > {best}",
                    sum(&other)
                );
            }
        }
    }

    #[test]
    fn customers_who_all_spend_alike_stop_on_the_bound_quickly() {
        // Every order 5–505 drawn alike for every customer: no spread of mean spend between
        // customers, so the likelihood grows as q, γ → ∞. The fit stops on the bound in a
        // few hundred evaluations, every customer's expected spend the population's mean.
        let mut state = 12_345u64;
        let mut uniform = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            5.0 + (state >> 11) as f64 / (1u64 << 53) as f64 * 500.0
        };
        let data: Vec<Summary> = (0..3_000)
            .map(|i| {
                let x = 1 + i % 6;
                let z = (0..x).map(|_| uniform()).sum::<f64>() / f64::from(x);
                Summary {
                    x,
                    t_x: 0,
                    t: 0,
                    repeat_mean: z,
                }
            })
            .collect();
        let (m, report) = GammaGamma::fit_report(&data).unwrap();
        assert!(
            report.at_bound && report.evaluations < 2_000,
            "{m:?} {report:?}"
        );
        let mean = data.iter().map(|s| s.repeat_mean).sum::<f64>() / data.len() as f64;
        for (x, z) in [(1, 10.0), (6, 500.0)] {
            let spend = m.expected_spend(x, z).unwrap();
            assert!(
                (spend / mean - 1.0).abs() < 0.02,
                "{x} {z}: {spend} vs {mean}"
            );
        }
    }

    #[test]
    fn the_expected_spend_shrinks_a_customer_towards_the_population_mean() {
        let m = GammaGamma {
            p: 6.25,
            q: 3.74,
            v: 15.44,
        };
        let population = m.expected_spend(0, 0.0).unwrap();
        assert!((population - 6.25 * 15.44 / 2.74).abs() < 1e-9);
        let big = m.expected_spend(5, 100.0).unwrap();
        assert!(big > population && big < 100.0);
        assert_eq!(
            GammaGamma {
                p: 1.0,
                q: 0.5,
                v: 1.0
            }
            .expected_spend(0, 0.0),
            None
        );
    }
}
