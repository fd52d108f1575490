//! Order statistics over timing samples.

/// The `q`-quantile (0 ≤ q ≤ 1) of `values` by the nearest-rank method; NaN when empty.
pub fn quantile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn median(values: &[f64]) -> f64 {
    quantile(values, 0.5)
}

pub fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// Median of the element-wise ratios `numerators[i] / denominators[i]`: pairs measured in the
/// same round, so slow drift of the machine cancels out of each ratio.
pub fn median_ratio(numerators: &[f64], denominators: &[f64]) -> f64 {
    let ratios: Vec<f64> = numerators
        .iter()
        .zip(denominators)
        .map(|(n, d)| n / d)
        .collect();
    median(&ratios)
}

/// Median of the element-wise differences `minuends[i] - subtrahends[i]` (pairs measured in
/// the same round).
pub fn median_difference(minuends: &[f64], subtrahends: &[f64]) -> f64 {
    let differences: Vec<f64> = minuends
        .iter()
        .zip(subtrahends)
        .map(|(a, b)| a - b)
        .collect();
    median(&differences)
}
