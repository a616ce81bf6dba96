//! Erlang C (M/M/N with no abandonment): the reference the simulation is checked against, and
//! what a planner uses to size a shift. `traffic` is the offered load in erlangs
//! (arrival rate × mean handle time); everything is in seconds.

/// Probability that an arriving call has to wait, for `agents` agents and `traffic` erlangs.
/// 1.0 when the queue is unstable (traffic ≥ agents).
pub fn wait_probability(agents: u32, traffic: f64) -> f64 {
    let n = agents as f64;
    if traffic >= n {
        return 1.0;
    }
    // Erlang B by its stable recurrence, then C from B.
    let mut b = 1.0;
    for k in 1..=agents {
        b = traffic * b / (k as f64 + traffic * b);
    }
    b / (1.0 - (traffic / n) * (1.0 - b))
}

/// Fraction of calls answered within `t` seconds.
pub fn service_level(agents: u32, traffic: f64, handle_secs: f64, t: f64) -> f64 {
    let n = agents as f64;
    if traffic >= n {
        return 0.0;
    }
    1.0 - wait_probability(agents, traffic) * (-(n - traffic) * t / handle_secs).exp()
}

/// Average speed of answer in seconds (the mean wait over all calls).
pub fn asa(agents: u32, traffic: f64, handle_secs: f64) -> f64 {
    let n = agents as f64;
    if traffic >= n {
        return f64::INFINITY;
    }
    wait_probability(agents, traffic) * handle_secs / (n - traffic)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn textbook_values() {
        // The classic example: 10 erlangs (λ = 360/h, 100 s handle time) on 11..14 agents.
        let c = wait_probability(11, 10.0);
        assert!((c - 0.6821).abs() < 1e-3, "{c}");
        let c = wait_probability(14, 10.0);
        assert!((c - 0.1741).abs() < 1e-3, "{c}");
        // Service level within 20 s and ASA for 12 agents.
        let sl = service_level(12, 10.0, 100.0, 20.0);
        assert!((sl - 0.6988).abs() < 1e-3, "{sl}");
        let a = asa(12, 10.0, 100.0);
        assert!((a - 22.47).abs() < 0.1, "{a}");
        assert_eq!(wait_probability(5, 5.0), 1.0);
    }
}
