//! Instruments, scoring and outcome analytics (issue 3).
