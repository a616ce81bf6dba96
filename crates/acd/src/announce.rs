//! The prompts that say a caller's place and estimated wait in Chinese: "您前面还有 N 位，
//! 预计等待 M 分钟". Numbers are said as Chinese numerals (二十三, not 二三) from the digit
//! prompts plus 十/百/千 (`num-10`, `num-100`, `num-1000`); 1 alone is 一, and 10–19 start
//! with 十 (十五), as people say them.

/// Prompt names for `n` (0..=9999; larger numbers are said as 9999, which never happens for
/// a queue position).
pub fn number_prompts(n: u64) -> Vec<String> {
    let n = n.min(9999);
    if n == 0 {
        return vec!["digit-0".into()];
    }
    let digit = |d: u64| format!("digit-{d}");
    let units = [(1000, "num-1000"), (100, "num-100"), (10, "num-10")];
    let mut out = Vec::new();
    let mut rest = n;
    let mut zero_pending = false;
    for (i, (value, name)) in units.iter().enumerate() {
        let d = rest / value;
        rest %= value;
        if d == 0 {
            if !out.is_empty() {
                zero_pending = true;
            }
            continue;
        }
        if zero_pending {
            out.push(digit(0));
            zero_pending = false;
        }
        // 十五 rather than 一十五 when ten is the leading unit.
        if !(d == 1 && *value == 10 && out.is_empty() && i == 2) {
            out.push(digit(d));
        }
        out.push((*name).to_string());
    }
    if rest > 0 {
        if zero_pending {
            out.push(digit(0));
        }
        out.push(digit(rest));
    }
    out
}

/// The announcement for a caller at `position` (1 = next) with an estimated wait.
pub fn position_prompts(position: usize, ewt_secs: Option<u64>) -> Vec<String> {
    let mut out = vec!["queue_ahead".to_string()];
    out.extend(number_prompts(position.saturating_sub(1) as u64));
    out.push("queue_ahead_callers".into());
    if let Some(s) = ewt_secs {
        // Whole minutes, at least one: "about 0 minutes" helps nobody.
        let minutes = s.div_ceil(60).max(1);
        out.push("queue_ewt".into());
        out.extend(number_prompts(minutes));
        out.push("queue_minutes".into());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn say(n: u64) -> String {
        number_prompts(n)
            .iter()
            .map(|p| match p.as_str() {
                "num-10" => "十".to_string(),
                "num-100" => "百".to_string(),
                "num-1000" => "千".to_string(),
                d => {
                    let i: usize = d.trim_start_matches("digit-").parse().unwrap();
                    "零一二三四五六七八九".chars().nth(i).unwrap().to_string()
                }
            })
            .collect()
    }

    #[test]
    fn chinese_numerals() {
        assert_eq!(say(0), "零");
        assert_eq!(say(1), "一");
        assert_eq!(say(10), "十");
        assert_eq!(say(15), "十五");
        assert_eq!(say(20), "二十");
        assert_eq!(say(23), "二十三");
        assert_eq!(say(100), "一百");
        assert_eq!(say(105), "一百零五");
        assert_eq!(say(110), "一百一十");
        assert_eq!(say(1001), "一千零一");
        assert_eq!(say(1010), "一千零一十");
        assert_eq!(say(2300), "二千三百");
        assert_eq!(say(99999), "九千九百九十九");
    }

    #[test]
    fn position_and_wait() {
        // Position 1: nobody ahead.
        assert_eq!(
            position_prompts(1, None),
            vec!["queue_ahead", "digit-0", "queue_ahead_callers"]
        );
        let p = position_prompts(4, Some(61));
        assert_eq!(
            p,
            vec![
                "queue_ahead",
                "digit-3",
                "queue_ahead_callers",
                "queue_ewt",
                "digit-2",
                "queue_minutes"
            ]
        );
        assert_eq!(position_prompts(2, Some(5))[4], "digit-1");
    }
}
