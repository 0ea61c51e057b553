//! Minimising a negative log-likelihood over log-parameters with argmin's Nelder-Mead, and
//! summing a likelihood's terms on every core.
//!
//! The search is confined to a box, |ln θ| ≤ [`LOG_BOUND`] for every parameter θ (the
//! likelihoods are of data scaled to means of 1, where real estimates are within e^±5): a
//! likelihood whose supremum lies at infinity — Gamma-Gamma's when every customer spends
//! alike (q, γ → ∞: no spread of mean spend between customers), BG/NBD's when every
//! customer has the same purchase or drop-out rate — then has its maximum on the box's
//! boundary, found in a few hundred evaluations, where the unbounded search walked towards
//! infinity until its iteration caps (8 × 5,000 iterations, minutes at a million
//! customers). The boundary estimate is the model's limit within the data's precision (at
//! q = e^15 the spread of mean spend is 0.05 %), and [`FitReport::at_bound`] tells.

use crate::FitError;
use argmin::core::{CostFunction, Error, Executor, State};
use argmin::solver::neldermead::NelderMead;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The largest |ln θ| of any parameter θ the fits consider.
pub(crate) const LOG_BOUND: f64 = 15.0;

/// Nelder-Mead runs at most: the first and its restarts.
const RUNS: usize = 8;
/// Iterations per run at most.
const ITERATIONS: u64 = 5_000;
/// Likelihood evaluations per fit at most: a fit that needs more did not converge.
const EVALUATIONS: usize = 20_000;

/// How a fit's optimisation went: Nelder-Mead runs (the first and its restarts), their
/// iterations, likelihood evaluations, and whether a parameter ended on the box's boundary
/// (the likelihood grows towards infinity there; see the module's comment). For benchmarks
/// and logs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FitReport {
    pub runs: usize,
    pub iterations: u64,
    pub evaluations: usize,
    pub at_bound: bool,
}

struct Objective<'a, F> {
    f: &'a F,
    evaluations: &'a AtomicUsize,
}

impl<F: Fn(&[f64]) -> f64> CostFunction for Objective<'_, F> {
    type Param = Vec<f64>;
    type Output = f64;

    fn cost(&self, p: &Vec<f64>) -> Result<f64, Error> {
        self.evaluations.fetch_add(1, Ordering::Relaxed);
        // Outside the box the likelihood is the boundary's (flat outwards), so the simplex
        // settles on the boundary; the result is clamped into the box.
        let v = (self.f)(&clamp(p));
        // A non-finite value is "very bad", never NaN, so the simplex moves away from it.
        Ok(if v.is_finite() { v } else { f64::MAX })
    }
}

fn clamp(p: &[f64]) -> Vec<f64> {
    p.iter().map(|v| v.clamp(-LOG_BOUND, LOG_BOUND)).collect()
}

/// The point of the box minimising `f` (a mean log-likelihood per customer, of order 1),
/// starting at `start`: Nelder-Mead, stopped when the simplex's values agree within 1e-11,
/// restarted from its own result until a restart no longer improves the value by 1e-10 (a
/// collapsed simplex can stop early on a long, curved valley such as the Gamma-Gamma
/// likelihood's). More than [`EVALUATIONS`] evaluations in all is no convergence.
pub(crate) fn minimise<F: Fn(&[f64]) -> f64>(
    f: F,
    start: Vec<f64>,
) -> Result<(Vec<f64>, FitReport), FitError> {
    let evaluations = AtomicUsize::new(0);
    let objective = Objective {
        f: &f,
        evaluations: &evaluations,
    };
    let mut report = FitReport::default();
    let mut best = clamp(&start);
    let mut best_cost = objective.cost(&best).unwrap_or(f64::MAX);
    // Whether the last run stopped on its tolerance rather than its iteration cap.
    let mut converged = false;
    for _ in 0..RUNS {
        let left = EVALUATIONS.saturating_sub(evaluations.load(Ordering::Relaxed));
        // Nelder-Mead evaluates once or twice per iteration (n + 1 times on a shrink).
        let iterations = ITERATIONS.min(left as u64 / 2);
        if iterations == 0 {
            break;
        }
        let (p, cost, done) = run(&objective, &best, iterations)?;
        report.runs += 1;
        report.iterations += done;
        converged = done < iterations;
        let improved = best_cost - cost > 1e-10;
        if cost <= best_cost {
            best = clamp(&p);
            best_cost = cost;
        }
        if !improved {
            break;
        }
    }
    report.evaluations = evaluations.load(Ordering::Relaxed);
    // Along a ridge towards infinity (a and b of BG/NBD growing together) the simplex stops
    // within the tolerance, a little short of the bound: real estimates are far inside.
    report.at_bound = best.iter().any(|v| v.abs() >= LOG_BOUND - 1.0);
    if best_cost >= f64::MAX || !best.iter().all(|v| v.is_finite()) {
        return Err(FitError::NoConvergence("non-finite likelihood".into()));
    }
    if !converged {
        return Err(FitError::NoConvergence(format!(
            "no optimum after {} likelihood evaluations",
            report.evaluations
        )));
    }
    Ok((best, report))
}

fn run<F: Fn(&[f64]) -> f64>(
    objective: &Objective<'_, F>,
    from: &[f64],
    iterations: u64,
) -> Result<(Vec<f64>, f64, u64), FitError> {
    let mut simplex = vec![from.to_vec()];
    for i in 0..from.len() {
        let mut p = from.to_vec();
        // Into the box from its upper boundary.
        p[i] += if p[i] + 0.5 > LOG_BOUND { -0.5 } else { 0.5 };
        simplex.push(p);
    }
    let solver = NelderMead::new(simplex)
        .with_sd_tolerance(1e-11)
        .map_err(|e| FitError::NoConvergence(e.to_string()))?;
    let problem = Objective {
        f: objective.f,
        evaluations: objective.evaluations,
    };
    let res = Executor::new(problem, solver)
        .configure(|s| s.max_iters(iterations))
        .run()
        .map_err(|e| FitError::NoConvergence(e.to_string()))?;
    let state = res.state();
    let p = state
        .get_best_param()
        .cloned()
        .ok_or_else(|| FitError::NoConvergence("no parameters".into()))?;
    Ok((p, state.get_best_cost(), state.get_iter()))
}

/// Rows per block of [`par_sum`].
const BLOCK: usize = 16_384;

/// Σ term(row) over `rows`, on up to all cores: the rows are cut into blocks of a fixed
/// size, each summed in order and the block sums added in order, so the result does not
/// depend on the number of threads (the optimiser sees the same function everywhere).
pub(crate) fn par_sum<T: Sync>(rows: &[T], term: impl Fn(&T) -> f64 + Sync) -> f64 {
    let blocks: Vec<&[T]> = rows.chunks(BLOCK).collect();
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(blocks.len());
    let block_sum = |b: &[T]| b.iter().map(&term).sum::<f64>();
    if threads <= 1 {
        return blocks.iter().map(|b| block_sum(b)).sum();
    }
    let mut sums = vec![0.0; blocks.len()];
    let per_thread = blocks.len().div_ceil(threads);
    std::thread::scope(|scope| {
        for (bs, out) in blocks.chunks(per_thread).zip(sums.chunks_mut(per_thread)) {
            let block_sum = &block_sum;
            scope.spawn(move || {
                for (b, o) in bs.iter().zip(out) {
                    *o = block_sum(b);
                }
            });
        }
    });
    sums.iter().sum()
}
