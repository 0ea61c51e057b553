//! A customer's purchases folded, in date order, into what the models need.

/// What the models need of one customer as of a date, in days.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Repeat transactions: days with a purchase after the first such day.
    pub x: u32,
    /// Days from the first purchase day to the last.
    pub t_x: u32,
    /// Days from the first purchase day to the as-of day ("T" in the papers).
    pub t: u32,
    /// Mean value of the repeat transactions (0 when `x` is 0): the first transaction is
    /// left out, as in the Gamma-Gamma papers, because it is not a draw from the repeat
    /// spending process the model describes.
    pub repeat_mean: f64,
}

/// Accumulates one customer's purchases; feed them in order of day.
#[derive(Debug, Clone, Default)]
pub struct History {
    first_day: Option<i64>,
    last_day: i64,
    repeat_days: u32,
    repeat_total: f64,
}

impl History {
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a purchase of `amount` on `day` (days since any fixed epoch); days must not go
    /// backwards. Purchases on one day make one transaction whose value is their sum.
    pub fn push(&mut self, day: i64, amount: f64) {
        match self.first_day {
            None => {
                self.first_day = Some(day);
                self.last_day = day;
            }
            Some(first) if day == first => {}
            Some(_) => {
                if day != self.last_day {
                    self.repeat_days += 1;
                    self.last_day = day;
                }
                self.repeat_total += amount;
            }
        }
    }

    /// The history of purchases made on `days` distinct days, the first on `first_day` and
    /// the last on `last_day`, of which `repeat_total` was spent after the first day — what
    /// [`History::push`] leaves, from figures a database aggregated (no purchase when `days`
    /// is 0).
    pub fn from_days(first_day: i64, last_day: i64, days: u32, repeat_total: f64) -> Self {
        if days == 0 {
            return Self::default();
        }
        Self {
            first_day: Some(first_day),
            last_day,
            repeat_days: days - 1,
            repeat_total,
        }
    }

    /// The summary as of `as_of_day`, or `None` without any purchase by then.
    pub fn summary(&self, as_of_day: i64) -> Option<Summary> {
        let first = self.first_day?;
        if first > as_of_day {
            return None;
        }
        let repeat_mean = if self.repeat_days > 0 {
            self.repeat_total / f64::from(self.repeat_days)
        } else {
            0.0
        };
        Some(Summary {
            x: self.repeat_days,
            t_x: (self.last_day - first) as u32,
            t: (as_of_day - first) as u32,
            repeat_mean,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purchases_on_one_day_are_one_transaction_and_the_first_is_not_a_repeat() {
        let mut h = History::new();
        h.push(10, 5.0);
        h.push(10, 7.0);
        h.push(12, 3.0);
        h.push(12, 1.0);
        h.push(20, 10.0);
        let s = h.summary(30).unwrap();
        assert_eq!((s.x, s.t_x, s.t), (2, 10, 20));
        assert!((s.repeat_mean - 7.0).abs() < 1e-12);
    }

    #[test]
    fn a_history_from_aggregated_days_is_the_one_pushed() {
        let mut h = History::new();
        for (day, amount) in [(10, 5.0), (10, 7.0), (12, 3.0), (12, 1.0), (20, 10.0)] {
            h.push(day, amount);
        }
        let from = History::from_days(10, 20, 3, 14.0);
        assert_eq!(from.summary(30), h.summary(30));
        assert_eq!(History::from_days(0, 0, 0, 0.0).summary(30), None);
        let once = History::from_days(7, 7, 1, 0.0).summary(9).unwrap();
        assert_eq!((once.x, once.t_x, once.t, once.repeat_mean), (0, 0, 2, 0.0));
    }

    #[test]
    fn no_purchase_is_no_summary() {
        assert_eq!(History::new().summary(5), None);
    }
}
