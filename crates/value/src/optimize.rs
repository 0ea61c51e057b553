//! Minimising a negative log-likelihood over log-parameters with argmin's Nelder-Mead.

use crate::FitError;
use argmin::core::{CostFunction, Error, Executor, State};
use argmin::solver::neldermead::NelderMead;
use std::sync::atomic::{AtomicUsize, Ordering};

/// How a fit's optimisation went: Nelder-Mead runs (the first and its restarts), their
/// iterations, and likelihood evaluations. For benchmarks and logs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FitReport {
    pub runs: usize,
    pub iterations: u64,
    pub evaluations: usize,
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
        // Exponentials of huge log-parameters overflow; a non-finite value is "very bad",
        // never NaN, so the simplex moves away from it.
        let v = (self.f)(p);
        Ok(if v.is_finite() { v } else { f64::MAX })
    }
}

/// The point minimising `f` (a mean log-likelihood per customer, of order 1), starting at
/// `start`: Nelder-Mead, stopped when the simplex's values agree within 1e-11, restarted
/// from its own result until a restart no longer improves the value by 1e-10 (a collapsed
/// simplex can stop early on a long, curved valley such as the Gamma-Gamma likelihood's).
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
    let mut best = start;
    let mut best_cost = objective.cost(&best).unwrap_or(f64::MAX);
    for _ in 0..8 {
        let (p, cost, iterations) = run(&objective, &best)?;
        report.runs += 1;
        report.iterations += iterations;
        let improved = best_cost - cost > 1e-10;
        if cost <= best_cost {
            best = p;
            best_cost = cost;
        }
        if !improved {
            break;
        }
    }
    report.evaluations = evaluations.load(Ordering::Relaxed);
    if best_cost >= f64::MAX || !best.iter().all(|v| v.is_finite()) {
        return Err(FitError::NoConvergence("non-finite likelihood".into()));
    }
    Ok((best, report))
}

fn run<F: Fn(&[f64]) -> f64>(
    objective: &Objective<'_, F>,
    from: &[f64],
) -> Result<(Vec<f64>, f64, u64), FitError> {
    let mut simplex = vec![from.to_vec()];
    for i in 0..from.len() {
        let mut p = from.to_vec();
        p[i] += 0.5;
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
        .configure(|s| s.max_iters(5_000))
        .run()
        .map_err(|e| FitError::NoConvergence(e.to_string()))?;
    let state = res.state();
    let p = state
        .get_best_param()
        .cloned()
        .ok_or_else(|| FitError::NoConvergence("no parameters".into()))?;
    Ok((p, state.get_best_cost(), state.get_iter()))
}
