//! Which windows an event time belongs to: tumbling (size) or hopping (size, slide).

use crate::event::WindowBounds;
use chrono::DateTime;
use std::time::Duration;

/// Window geometry in milliseconds. Windows are aligned to the Unix epoch, so every instance
/// of fabric-ai cuts the same windows from the same events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowSpec {
    size_ms: i64,
    slide_ms: i64,
}

impl WindowSpec {
    /// Back-to-back windows of `size`.
    pub fn tumbling(size: Duration) -> WindowSpec {
        let size_ms = (size.as_millis() as i64).max(1);
        WindowSpec {
            size_ms,
            slide_ms: size_ms,
        }
    }

    /// Windows of `size` starting every `slide`; `slide` is clamped to `1..=size`.
    pub fn hopping(size: Duration, slide: Duration) -> WindowSpec {
        let size_ms = (size.as_millis() as i64).max(1);
        let slide_ms = (slide.as_millis() as i64).clamp(1, size_ms);
        WindowSpec { size_ms, slide_ms }
    }

    /// Window length in milliseconds.
    pub fn size_ms(&self) -> i64 {
        self.size_ms
    }

    /// Start times of the windows containing `ts_ms`, earliest first.
    pub fn starts_for(&self, ts_ms: i64) -> impl Iterator<Item = i64> {
        let last = ts_ms.div_euclid(self.slide_ms) * self.slide_ms;
        let (size, slide) = (self.size_ms, self.slide_ms);
        let count = (size + slide - 1) / slide;
        (0..count)
            .rev()
            .map(move |i| last - i * slide)
            .filter(move |start| ts_ms < start + size)
    }

    /// The bounds of the window starting at `start_ms`.
    pub fn bounds(&self, start_ms: i64) -> WindowBounds {
        let at = |ms| DateTime::from_timestamp_millis(ms).unwrap_or_default();
        WindowBounds {
            start: at(start_ms),
            end: at(start_ms + self.size_ms),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tumbling_windows_contain_each_time_once() {
        let spec = WindowSpec::tumbling(Duration::from_secs(120));
        assert_eq!(spec.starts_for(0).collect::<Vec<_>>(), vec![0]);
        assert_eq!(spec.starts_for(119_999).collect::<Vec<_>>(), vec![0]);
        assert_eq!(spec.starts_for(120_000).collect::<Vec<_>>(), vec![120_000]);
    }

    #[test]
    fn hopping_windows_overlap() {
        let spec = WindowSpec::hopping(Duration::from_secs(60), Duration::from_secs(20));
        assert_eq!(
            spec.starts_for(65_000).collect::<Vec<_>>(),
            vec![20_000, 40_000, 60_000]
        );
        assert_eq!(
            spec.starts_for(60_000).collect::<Vec<_>>(),
            vec![20_000, 40_000, 60_000]
        );
    }

    #[test]
    fn negative_times_align_like_positive_ones() {
        let spec = WindowSpec::tumbling(Duration::from_secs(10));
        assert_eq!(spec.starts_for(-1).collect::<Vec<_>>(), vec![-10_000]);
    }
}
