//! Range checks on decoded answers. JSON already rules out non-finite numbers, and the types
//! rule out negative counts and wrong types; these catch what is well-typed but unsafe to act
//! on, and name the field.

use crate::engine::wire::WireError;

/// A fraction must lie in 0..1 (confidence, score, strength).
pub(crate) fn fraction(field: &str, v: f64) -> Result<(), WireError> {
    finite(field, v)?;
    if !(0.0..=1.0).contains(&v) {
        return Err(WireError::answer(field, format!("out of range 0..1: {v}")));
    }
    Ok(())
}

/// A quantity that cannot be negative (a deviation in standard deviations, a period).
pub(crate) fn non_negative(field: &str, v: f64) -> Result<(), WireError> {
    finite(field, v)?;
    if v < 0.0 {
        return Err(WireError::answer(field, format!("is negative: {v}")));
    }
    Ok(())
}

/// Any number must be finite. JSON cannot carry NaN or infinity, so this only fails for a
/// value built in-process; it keeps [`validate`](super::validate_answer) a complete check.
pub(crate) fn finite(field: &str, v: f64) -> Result<(), WireError> {
    if !v.is_finite() {
        return Err(WireError::answer(
            field,
            format!("is not a finite number: {v}"),
        ));
    }
    Ok(())
}

/// `lower` must not be above `upper`.
pub(crate) fn ordered(
    lower_field: &str,
    lower: f64,
    upper_field: &str,
    upper: f64,
) -> Result<(), WireError> {
    if lower > upper {
        return Err(WireError::answer(
            lower_field,
            format!("out of range: {lower} is above `{upper_field}` {upper}"),
        ));
    }
    Ok(())
}

/// A value from a closed set of words.
pub(crate) fn one_of(field: &str, v: &str, allowed: &[&str]) -> Result<(), WireError> {
    if !allowed.contains(&v) {
        return Err(WireError::answer(
            field,
            format!("is not one of {}: `{v}`", allowed.join(", ")),
        ));
    }
    Ok(())
}
