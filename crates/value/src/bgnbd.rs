//! The BG/NBD model of how many purchases a customer makes (Fader, Hardie & Lee 2005,
//! "Counting your customers the easy way: an alternative to the Pareto/NBD model").
//!
//! While active, a customer buys at rate λ (a Poisson process); λ varies across customers as
//! Gamma(r, α). After each purchase the customer drops out with probability p; p varies as
//! Beta(a, b). For a customer with `x` repeat purchases, the last at `t_x`, observed for `T`
//! since the first purchase, the likelihood (the paper's equation 6) is
//!
//! ```text
//! L(r, α, a, b | x, t_x, T) =
//!     B(a, b + x) / B(a, b) · Γ(r + x) αʳ / (Γ(r) (α + T)^(r + x))
//!   + δ(x > 0) · B(a + 1, b + x − 1) / B(a, b) · Γ(r + x) αʳ / (Γ(r) (α + t_x)^(r + x))
//! ```
//!
//! whose logarithm is computed as
//!
//! ```text
//! ln Γ(r + x) − ln Γ(r) + r ln α + ln Γ(a + b) + ln Γ(b + x) − ln Γ(b) − ln Γ(a + b + x)
//!   + ln( (α + T)^−(r+x) + δ(x > 0) · a / (b + x − 1) · (α + t_x)^−(r+x) )
//! ```
//!
//! using B(a + 1, b + x − 1) = B(a, b + x) · a / (b + x − 1), with the sum taken as a
//! log-sum-exp. The parameters maximise the sum over customers.

use crate::optimize::{minimise, par_sum, FitReport};
use crate::{hyp2f1, ln_gamma, ln_gamma_ratio, FitError, Summary};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Customers sharing a history (x, t_x, T): indices into the fit's distinct x and days, and
/// how many.
struct Row {
    x: u32,
    t_x: u32,
    t: u32,
    n: f64,
}

/// Fitted BG/NBD parameters; `alpha` is in days (the unit of [`Summary`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BgNbd {
    pub r: f64,
    pub alpha: f64,
    pub a: f64,
    pub b: f64,
}

impl BgNbd {
    /// The log-likelihood of one customer's (x, t_x, T).
    pub fn log_likelihood(&self, x: u32, t_x: f64, t: f64) -> f64 {
        let Self { r, alpha, a, b } = *self;
        let x = f64::from(x);
        let head =
            ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln() + ln_gamma(a + b) + ln_gamma(b + x)
                - ln_gamma(b)
                - ln_gamma(a + b + x);
        let still = -(r + x) * (alpha + t).ln();
        if x == 0.0 {
            return head + still;
        }
        let gone = a.ln() - (b + x - 1.0).ln() - (r + x) * (alpha + t_x).ln();
        let top = still.max(gone);
        head + top + ((still - top).exp() + (gone - top).exp()).ln()
    }

    /// Maximum-likelihood fit over customers' summaries. Customers sharing one (x, t_x, T)
    /// are counted once, weighted, and the log-gamma terms, which depend on x alone, are
    /// computed once per distinct x, the logarithms of α + d once per distinct day d: an
    /// evaluation costs one exponential and one logarithm per distinct history, summed on
    /// every core. The search is bounded (see `optimize`): where the likelihood grows
    /// towards infinity (every customer with the same rates) the estimate is on the bound.
    pub fn fit(data: &[Summary]) -> Result<Self, FitError> {
        Self::fit_report(data).map(|(m, _)| m)
    }

    /// [`BgNbd::fit`], with how the optimisation went.
    pub fn fit_report(data: &[Summary]) -> Result<(Self, FitReport), FitError> {
        if data.len() < 2 || data.iter().all(|s| s.x == 0) {
            return Err(FitError::NotEnoughData("BG/NBD needs repeat purchases"));
        }
        // Customers sharing one (x, t_x, T) are one row, weighted by their number (sorted, so
        // the sum's order, and the fit, is the same on every run).
        let mut groups: HashMap<(u32, u32, u32), f64> = HashMap::new();
        for s in data {
            *groups.entry((s.x, s.t_x, s.t)).or_default() += 1.0;
        }
        let mut groups: Vec<((u32, u32, u32), f64)> = groups.into_iter().collect();
        groups.sort_unstable_by_key(|g| g.0);
        // The distinct x, with their customers: the terms of x alone are computed once per x.
        let mut xs: Vec<(f64, f64)> = Vec::new();
        // The distinct days (t_x or T): their logarithms are computed once per evaluation.
        let mut days: Vec<u32> = groups
            .iter()
            .flat_map(|((_, tx, t), _)| [*tx, *t])
            .collect();
        days.sort_unstable();
        days.dedup();
        let day = |d: u32| days.binary_search(&d).expect("listed above") as u32;
        let mut rows: Vec<Row> = Vec::with_capacity(groups.len());
        for &((x, tx, t), n) in &groups {
            if xs.last().is_none_or(|l| l.0 != f64::from(x)) {
                xs.push((f64::from(x), 0.0));
            }
            let last = xs.len() - 1;
            xs[last].1 += n;
            rows.push(Row {
                x: last as u32,
                t_x: day(tx),
                t: day(t),
                n,
            });
        }
        // Time is scaled so that the mean T is 1: the optimiser then starts near α's scale.
        let scale = (data.iter().map(|s| f64::from(s.t)).sum::<f64>() / data.len() as f64).max(1.0);
        let days: Vec<f64> = days.iter().map(|&d| f64::from(d) / scale).collect();
        let total = data.len() as f64;
        // The log-likelihood regrouped so that no two large terms cancel (near the box's
        // boundary, see `optimize`, r, α, a or b are in the millions):
        //
        //   ln Γ(r + x) − ln Γ(r) + ln Γ(b + x) − ln Γ(b) − (ln Γ(a + b + x) − ln Γ(a + b))
        //   + ln( e^still + δ(x > 0) · e^gone ),
        //   still = r ln α − (r + x) ln(α + T)   = −r ln(1 + T/α)   − x ln(α + T),
        //   gone  = ln a − ln(b + x − 1) + r ln α − (r + x) ln(α + t_x)
        //         = ln a − ln(b + x − 1) − r ln(1 + t_x/α) − x ln(α + t_x),
        //
        // with the log-gamma differences from `ln_gamma_ratio`, ln(α + d) and ln(1 + d/α)
        // once per distinct day, and per row one exponential and one logarithm (the
        // log-sum-exp max + ln(1 + e^(min − max))), summed on every core.
        let nll = |p: &[f64]| {
            let (r, alpha, a, b) = (p[0].exp(), p[1].exp(), p[2].exp(), p[3].exp());
            let ln_a = a.ln();
            let per_day: Vec<(f64, f64)> = days
                .iter()
                .map(|&d| ((alpha + d).ln(), (d / alpha).ln_1p()))
                .collect();
            let mut sum = 0.0;
            let per_x: Vec<(f64, f64)> = xs
                .iter()
                .map(|&(x, n)| {
                    if x == 0.0 {
                        return (x, 0.0);
                    }
                    sum += n
                        * (ln_gamma_ratio(r, x) + ln_gamma_ratio(b, x) - ln_gamma_ratio(a + b, x));
                    (x, ln_a - (b + x - 1.0).ln())
                })
                .collect();
            sum += par_sum(&rows, |row| {
                let (x, odds) = per_x[row.x as usize];
                let (ln_at, ln1p) = per_day[row.t as usize];
                let still = -r * ln1p - x * ln_at;
                let term = if x > 0.0 {
                    let (ln_at, ln1p) = per_day[row.t_x as usize];
                    let gone = odds - r * ln1p - x * ln_at;
                    let (hi, lo) = if still > gone {
                        (still, gone)
                    } else {
                        (gone, still)
                    };
                    hi + (lo - hi).exp().ln_1p()
                } else {
                    still
                };
                row.n * term
            });
            // The mean per customer: a scale the optimiser's tolerance is meaningful at.
            -sum / total
        };
        let (p, report) = minimise(nll, vec![0.0; 4])?;
        let model = BgNbd {
            r: p[0].exp(),
            alpha: p[1].exp() * scale,
            a: p[2].exp(),
            b: p[3].exp(),
        };
        Ok((model, report))
    }

    /// The probability that a customer with this history is still active at T (eq. 9):
    /// 1 / (1 + δ(x > 0) · a / (b + x − 1) · ((α + T) / (α + t_x))^(r + x)).
    pub fn p_alive(&self, x: u32, t_x: f64, t: f64) -> f64 {
        if x == 0 {
            return 1.0;
        }
        let x = f64::from(x);
        let odds = (self.a / (self.b + x - 1.0))
            * ((self.alpha + t) / (self.alpha + t_x)).powf(self.r + x);
        1.0 / (1.0 + odds)
    }

    /// Expected purchases in the next `horizon` days of a customer with this history (eq. 10):
    /// (a + b + x − 1) / (a − 1) · [1 − ((α + T) / (α + T + t))^(r + x)
    ///   · ₂F₁(r + x, b + x; a + b + x − 1; t / (α + T + t))] / (1 + δ(x > 0) · a / (b + x − 1)
    ///   · ((α + T) / (α + t_x))^(r + x)).
    pub fn expected_purchases(&self, x: u32, t_x: f64, t: f64, horizon: f64) -> f64 {
        if horizon <= 0.0 {
            return 0.0;
        }
        let Self { r, alpha, b, .. } = *self;
        // The expression is 0/0 at a = 1; its limit is approached from a nudged a.
        let a = if (self.a - 1.0).abs() < 1e-6 {
            1.0 + 1e-6
        } else {
            self.a
        };
        let xf = f64::from(x);
        let z = horizon / (alpha + t + horizon);
        let f = hyp2f1(r + xf, b + xf, a + b + xf - 1.0, z);
        let bracket = 1.0 - ((alpha + t) / (alpha + t + horizon)).powf(r + xf) * f;
        let numerator = (a + b + xf - 1.0) / (a - 1.0) * bracket;
        let denominator = if x == 0 {
            1.0
        } else {
            1.0 + a / (b + xf - 1.0) * ((alpha + t) / (alpha + t_x)).powf(r + xf)
        };
        (numerator / denominator).max(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grouped_likelihood_is_the_sum_of_the_customers_likelihoods() {
        // The fit's fast likelihood must agree with log_likelihood: fitted on three
        // customers, the optimum found has a higher sum than nearby parameters.
        let data =
            [(2, 30, 39), (0, 0, 39), (1, 5, 20), (0, 0, 10), (3, 35, 39)].map(|(x, t_x, t)| {
                Summary {
                    x,
                    t_x,
                    t,
                    repeat_mean: 0.0,
                }
            });
        let m = BgNbd::fit(&data).unwrap();
        let sum = |m: &BgNbd| -> f64 {
            data.iter()
                .map(|s| m.log_likelihood(s.x, f64::from(s.t_x), f64::from(s.t)))
                .sum()
        };
        let best = sum(&m);
        for k in 0..4 {
            for f in [0.97, 1.03] {
                let mut p = [m.r, m.alpha, m.a, m.b];
                p[k] *= f;
                let other = BgNbd {
                    r: p[0],
                    alpha: p[1],
                    a: p[2],
                    b: p[3],
                };
                assert!(
                    sum(&other) <= best + 1e-9,
                    "{k} {f}: {} > {best}",
                    sum(&other)
                );
            }
        }
    }

    const PAPER: BgNbd = BgNbd {
        r: 0.243,
        alpha: 4.414,
        a: 0.793,
        b: 2.426,
    };

    #[test]
    fn a_customer_without_repeat_purchases_is_alive() {
        assert_eq!(PAPER.p_alive(0, 0.0, 30.0), 1.0);
    }

    #[test]
    fn p_alive_falls_the_longer_a_repeat_buyer_is_silent() {
        let recent = PAPER.p_alive(3, 30.0, 32.0);
        let silent = PAPER.p_alive(3, 5.0, 32.0);
        assert!(recent > silent && silent > 0.0 && recent < 1.0);
    }

    #[test]
    fn the_expectation_matches_the_papers_worked_example() {
        // FHL 2005, section 5: a customer with x = 2, t_x = 30.43, T = 38.86 (weeks) is
        // expected to make 1.226 purchases in the next 39 weeks (the paper's figure is
        // rounded from parameters rounded as above).
        let e = PAPER.expected_purchases(2, 30.43, 38.86, 39.0);
        assert!((e - 1.226).abs() < 0.01, "{e}");
    }
}
