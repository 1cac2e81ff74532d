//! Numeric axis ticks.

/// "Nice" tick values (steps of 1, 2, 2.5 or 5 times a power of ten) inside `[lo, hi]`, at most
/// about `max` of them, and the number of decimals their labels need.
pub(crate) fn nice_ticks(lo: f64, hi: f64, max: usize) -> (Vec<f64>, u8) {
    let span = hi - lo;
    if !(span.is_finite() && span > 0.0) {
        return (Vec::new(), 0);
    }
    let max = max.clamp(2, 20);
    let raw = span / max as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0].iter().map(|m| m * mag).find(|s| *s >= raw).unwrap_or(10.0 * mag);
    if !(step.is_finite() && step > 0.0) {
        return (Vec::new(), 0);
    }
    let first = (lo / step).ceil() * step;
    let ticks: Vec<f64> = (0..=max + 1).map(|i| first + i as f64 * step).take_while(|v| *v <= hi + step * 1e-9).collect();
    let decimals =
        (0u8..=6).find(|d| ((step * 10f64.powi(i32::from(*d))).round() - step * 10f64.powi(i32::from(*d))).abs() < 1e-6).unwrap_or(6);
    (ticks, decimals)
}

/// Maps `v` from `[lo, hi]` onto `[top, bottom]` (inverted: larger values higher up), clamped.
pub(crate) fn y_of(v: f64, lo: f64, hi: f64, top: f64, bottom: f64) -> f64 {
    let f = if hi > lo { (v - lo) / (hi - lo) } else { 0.5 };
    let f = if f.is_finite() { f.clamp(0.0, 1.0) } else { 0.5 };
    bottom - f * (bottom - top)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phq9_ticks() {
        let (t, d) = nice_ticks(0.0, 27.0, 6);
        assert_eq!(t, [0.0, 5.0, 10.0, 15.0, 20.0, 25.0]);
        assert_eq!(d, 0);
        let (t, d) = nice_ticks(0.0, 1.0, 4);
        assert_eq!(t, [0.0, 0.25, 0.5, 0.75, 1.0]);
        assert_eq!(d, 2);
        assert!(nice_ticks(1.0, 1.0, 4).0.is_empty());
    }

    #[test]
    fn y_is_clamped() {
        assert_eq!(y_of(50.0, 0.0, 10.0, 10.0, 110.0), 10.0);
        assert_eq!(y_of(-5.0, 0.0, 10.0, 10.0, 110.0), 110.0);
        assert_eq!(y_of(f64::NAN, 0.0, 10.0, 10.0, 110.0), 60.0);
    }
}
