//! Rate limiters shared by modules (logins, widget connections).

use governor::clock::DefaultClock;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::RateLimiter;

/// Rate limiter keyed by a string (client IP, email address, …).
pub type KeyedLimiter = RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock>;
