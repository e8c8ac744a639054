//! The one retry schedule of the engine: 100 ms, doubling, at most 5 s.
//! Every loop that waits for a server to come back (the source reconnect,
//! the target retry, the snapshot, a large transaction lost in the middle)
//! uses it, so an outage is retried the same way everywhere and a stop
//! request ends any wait at once.

use std::time::Duration;

use crate::shutdown::Shutdown;

/// The first wait.
pub const FIRST: Duration = Duration::from_millis(100);
/// The longest wait: a server that comes back is used within this.
pub const CAP: Duration = Duration::from_secs(5);

/// Where a retry loop is in the schedule.
#[derive(Debug)]
pub struct Backoff {
    delay: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { delay: FIRST }
    }
}

impl Backoff {
    /// The wait the next [`Backoff::wait`] takes.
    pub fn delay(&self) -> Duration {
        self.delay
    }

    /// Back to the first wait (after a success).
    pub fn reset(&mut self) {
        self.delay = FIRST;
    }

    /// Wait the current delay and double it (up to [`CAP`]); `false` when
    /// `shutdown` fired first.
    pub async fn wait(&mut self, shutdown: &mut Shutdown) -> bool {
        let d = self.delay;
        self.delay = (d * 2).min(CAP);
        tokio::select! {
            _ = tokio::time::sleep(d) => true,
            _ = shutdown.wait() => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn doubles_up_to_the_cap_and_resets() {
        // With the stop fired, each wait ends at once but still advances.
        let (trigger, mut shutdown) = crate::shutdown::channel();
        trigger.fire();
        let mut b = Backoff::default();
        let mut seen = Vec::new();
        for _ in 0..8 {
            seen.push(b.delay().as_millis());
            assert!(!b.wait(&mut shutdown).await);
        }
        assert_eq!(seen, [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
        b.reset();
        assert_eq!(b.delay(), FIRST);
    }

    #[tokio::test]
    async fn a_stop_ends_the_wait() {
        let (trigger, mut shutdown) = crate::shutdown::channel();
        let mut b = Backoff::default();
        trigger.fire();
        assert!(!b.wait(&mut shutdown).await);
    }
}
