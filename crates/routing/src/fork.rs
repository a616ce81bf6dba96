//! Parallel forking (RFC 3261 §16.7): first 2xx wins, the other branches are CANCELled, and when no
//! branch answers the best final response goes upstream.

/// What the shell must do after an event on a fork.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForkAction {
    /// Forward this branch's response upstream now.
    Forward { branch: usize },
    /// CANCEL this branch (it has sent nothing final yet).
    Cancel { branch: usize },
    /// Every branch has ended without a 2xx: send this status upstream, taken from `branch` when one
    /// gave it (None: every branch timed out, the shell answers `status` itself).
    Final { status: u16, branch: Option<usize> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Branch {
    /// Sent, nothing heard yet.
    Calling,
    /// A provisional response came: the branch is alive and can be CANCELled.
    Proceeding,
    Cancelling,
    Done(u16),
}

/// The state of one forked request.
#[derive(Debug, Clone)]
pub struct ForkState {
    branches: Vec<Branch>,
    answered: Option<usize>,
    finished: bool,
}

impl ForkState {
    pub fn new(branches: usize) -> Self {
        Self {
            branches: vec![Branch::Calling; branches],
            answered: None,
            finished: branches == 0,
        }
    }

    /// The branch whose 2xx won, if any.
    pub fn winner(&self) -> Option<usize> {
        self.answered
    }

    /// True once a final answer has gone (or must go) upstream.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// A provisional response: forwarded unless it is a 100 (hop-by-hop) or the fork is decided.
    pub fn on_provisional(&mut self, branch: usize, status: u16) -> Vec<ForkAction> {
        let Some(slot) = self.branches.get_mut(branch) else {
            return vec![];
        };
        if *slot == Branch::Calling {
            *slot = Branch::Proceeding;
        }
        if status == 100 || self.finished {
            return vec![];
        }
        vec![ForkAction::Forward { branch }]
    }

    /// A final response on `branch`.
    pub fn on_final(&mut self, branch: usize, status: u16) -> Vec<ForkAction> {
        let Some(slot) = self.branches.get_mut(branch) else {
            return vec![];
        };
        let was_done = matches!(slot, Branch::Done(_));
        *slot = Branch::Done(status);
        let mut out = Vec::new();
        if (200..300).contains(&status) {
            // Every 2xx goes upstream (§16.7 item 4): a second one creates a second dialog that the
            // caller must end itself; a proxy never swallows a 2xx.
            out.push(ForkAction::Forward { branch });
            if self.answered.is_none() {
                self.answered = Some(branch);
                self.finished = true;
                out.extend(self.cancel_pending());
            }
            return out;
        }
        if was_done || self.finished {
            return out;
        }
        if (600..700).contains(&status) {
            // A 6xx ends the search at once (§16.7 item 5 and §16.7 step 6 choice).
            self.finished = true;
            out.extend(self.cancel_pending());
            out.push(ForkAction::Final {
                status,
                branch: Some(branch),
            });
            return out;
        }
        out.extend(self.finish_if_all_done());
        out
    }

    /// A branch failed without a response (transport error, Timer B): counted as a 408.
    pub fn on_timeout(&mut self, branch: usize) -> Vec<ForkAction> {
        let Some(slot) = self.branches.get_mut(branch) else {
            return vec![];
        };
        if matches!(slot, Branch::Done(_)) {
            return vec![];
        }
        *slot = Branch::Done(408);
        if self.finished {
            return vec![];
        }
        self.finish_if_all_done()
    }

    /// The caller CANCELled, or the ring timer fired: cancel every branch still ringing. The
    /// branches' 487s then complete the fork.
    pub fn cancel_all(&mut self) -> Vec<ForkAction> {
        self.cancel_pending()
    }

    /// Cancel every live branch. A branch that has not answered at all may not be CANCELled
    /// (§9.1: wait for a provisional first) and may be dead (a phone gone without unregistering):
    /// it counts as ended with 487 at once, so a caller's CANCEL is answered without waiting out
    /// Timer B on it.
    fn cancel_pending(&mut self) -> Vec<ForkAction> {
        let mut out = Vec::new();
        for (i, b) in self.branches.iter_mut().enumerate() {
            match *b {
                Branch::Proceeding => {
                    *b = Branch::Cancelling;
                    out.push(ForkAction::Cancel { branch: i });
                }
                Branch::Calling => *b = Branch::Done(487),
                _ => {}
            }
        }
        if !self.finished {
            out.extend(self.finish_if_all_done());
        }
        out
    }

    fn finish_if_all_done(&mut self) -> Vec<ForkAction> {
        if self.branches.iter().any(|b| !matches!(b, Branch::Done(_))) {
            return vec![];
        }
        self.finished = true;
        let codes: Vec<u16> = self
            .branches
            .iter()
            .map(|b| match b {
                Branch::Done(c) => *c,
                _ => 408,
            })
            .collect();
        let (status, branch) = best_final_response(&codes);
        vec![ForkAction::Final { status, branch }]
    }
}

/// The response to send upstream when every branch failed (§16.7 step 6): a 6xx if any, else the
/// lowest class, preferring 401/407/415/420/484 within 4xx because they let the caller retry usefully;
/// a chosen 503 becomes 500 (§16.7 item 6: a 503 would tell the caller that *this* proxy is overloaded).
/// Returns the status and the branch it came from (None when synthesised: no branches).
pub fn best_final_response(codes: &[u16]) -> (u16, Option<usize>) {
    if codes.is_empty() {
        return (480, None);
    }
    if let Some(i) = codes.iter().position(|c| (600..700).contains(c)) {
        return (codes[i], Some(i));
    }
    let class = |c: u16| c / 100;
    let min_class = codes.iter().map(|c| class(*c)).min().unwrap_or(4);
    let candidates: Vec<usize> = (0..codes.len())
        .filter(|&i| class(codes[i]) == min_class)
        .collect();
    let preferred = [401u16, 407, 415, 420, 484];
    let pick = candidates
        .iter()
        .copied()
        .find(|&i| preferred.contains(&codes[i]))
        // Among the rest, a real answer beats our own timeout stand-in.
        .or_else(|| candidates.iter().copied().find(|&i| codes[i] != 408))
        .unwrap_or(candidates[0]);
    let status = if codes[pick] == 503 { 500 } else { codes[pick] };
    (status, Some(pick))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_2xx_wins_and_cancels_the_rest() {
        let mut f = ForkState::new(3);
        assert_eq!(f.on_provisional(0, 100), vec![]);
        assert_eq!(
            f.on_provisional(1, 180),
            vec![ForkAction::Forward { branch: 1 }]
        );
        let a = f.on_final(1, 200);
        assert_eq!(
            a,
            // Branch 2 never answered: it is not CANCELled (§9.1), just given up.
            vec![
                ForkAction::Forward { branch: 1 },
                ForkAction::Cancel { branch: 0 }
            ]
        );
        assert_eq!(f.winner(), Some(1));
        // The cancelled branches' 487s are absorbed.
        assert_eq!(f.on_final(0, 487), vec![]);
        // A late 2xx from a branch that raced the CANCEL is still forwarded (never swallowed).
        assert_eq!(f.on_final(2, 200), vec![ForkAction::Forward { branch: 2 }]);
        assert_eq!(f.winner(), Some(1));
    }

    #[test]
    fn all_fail_best_response_goes_up() {
        let mut f = ForkState::new(3);
        assert_eq!(f.on_final(0, 486), vec![]);
        assert_eq!(f.on_timeout(1), vec![]);
        let a = f.on_final(2, 404);
        assert_eq!(
            a,
            vec![ForkAction::Final {
                status: 486,
                branch: Some(0)
            }]
        );
        assert!(f.is_finished());
    }

    #[test]
    fn six_hundred_ends_the_search() {
        let mut f = ForkState::new(2);
        f.on_provisional(0, 180);
        let a = f.on_final(1, 603);
        assert_eq!(
            a,
            vec![
                ForkAction::Cancel { branch: 0 },
                ForkAction::Final {
                    status: 603,
                    branch: Some(1)
                }
            ]
        );
        assert_eq!(f.on_final(0, 487), vec![]);
    }

    #[test]
    fn caller_cancel_cancels_pending_then_completes_with_487() {
        let mut f = ForkState::new(2);
        f.on_provisional(0, 180);
        f.on_provisional(1, 100);
        assert_eq!(
            f.cancel_all(),
            vec![
                ForkAction::Cancel { branch: 0 },
                ForkAction::Cancel { branch: 1 }
            ]
        );
        assert_eq!(f.cancel_all(), vec![]);
        assert_eq!(f.on_final(0, 487), vec![]);
        assert_eq!(
            f.on_final(1, 487),
            vec![ForkAction::Final {
                status: 487,
                branch: Some(0)
            }]
        );
    }

    #[test]
    fn silent_branches_are_not_cancelled_and_do_not_hold_the_caller() {
        let mut f = ForkState::new(3);
        f.on_provisional(1, 180);
        // Branches 0 and 2 never answered (a dead registration): no CANCEL for them (§9.1).
        assert_eq!(f.cancel_all(), vec![ForkAction::Cancel { branch: 1 }]);
        assert_eq!(
            f.on_final(1, 487),
            vec![ForkAction::Final {
                status: 487,
                branch: Some(0)
            }]
        );
        // Their Timer B expiring later changes nothing.
        assert_eq!(f.on_timeout(0), vec![]);
        let mut all_silent = ForkState::new(2);
        assert_eq!(
            all_silent.cancel_all(),
            vec![ForkAction::Final {
                status: 487,
                branch: Some(0)
            }]
        );
    }

    #[test]
    fn best_response_rules() {
        assert_eq!(best_final_response(&[]), (480, None));
        assert_eq!(best_final_response(&[503]), (500, Some(0)));
        assert_eq!(best_final_response(&[486, 302, 404]), (302, Some(1)));
        assert_eq!(best_final_response(&[404, 407, 486]), (407, Some(1)));
        assert_eq!(best_final_response(&[408, 480]), (480, Some(1)));
        assert_eq!(best_final_response(&[408, 408]), (408, Some(0)));
        assert_eq!(best_final_response(&[500, 603, 486]), (603, Some(1)));
    }
}
