//! Gauss's hypergeometric function for the BG/NBD conditional expectation.

/// ₂F₁(a, b; c; z) for 0 ≤ z < 1 by its power series
/// Σₙ (a)ₙ(b)ₙ / ((c)ₙ n!) zⁿ, summed until a term no longer changes the sum.
///
/// The BG/NBD expectation only needs z = t / (α + T + t) in [0, 1), where the series
/// converges (geometrically, like zⁿ); `NaN` outside that range or if it has not converged
/// after a million terms.
pub fn hyp2f1(a: f64, b: f64, c: f64, z: f64) -> f64 {
    if !(0.0..1.0).contains(&z) {
        return f64::NAN;
    }
    let mut term = 1.0;
    let mut sum = 1.0;
    for n in 0..1_000_000u32 {
        let n = f64::from(n);
        term *= (a + n) * (b + n) / ((c + n) * (n + 1.0)) * z;
        sum += term;
        if term.abs() <= sum.abs() * 1e-15 {
            return sum;
        }
    }
    f64::NAN
}

#[cfg(test)]
mod tests {
    use super::hyp2f1;

    #[test]
    fn matches_closed_forms() {
        // ₂F₁(1, 1; 2; z) = −ln(1 − z) / z
        let z: f64 = 0.9;
        assert!((hyp2f1(1.0, 1.0, 2.0, z) - (-(1.0 - z).ln() / z)).abs() < 1e-12);
        // ₂F₁(a, b; b; z) = (1 − z)^−a
        assert!((hyp2f1(2.5, 3.0, 3.0, 0.5) - 0.5f64.powf(-2.5)).abs() < 1e-12);
        assert_eq!(hyp2f1(1.0, 1.0, 2.0, 0.0), 1.0);
        assert!(hyp2f1(1.0, 1.0, 2.0, 1.0).is_nan());
    }
}
