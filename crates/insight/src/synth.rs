//! A synthetic month of 12345 orders, seeded and reproducible, with the mixes of real 12345
//! reports (consultations about half, complaints about a quarter, seasonal heating complaints
//! from November to March), the city's 13 counties and districts, the annex lines and units,
//! and texts varied enough to be told apart. Optional planted events, whose orders are
//! returned so tests know what must be found: a cluster (one blocked sewer reported again and
//! again), a spike (a day when water is cut across the city), and sensitive requests (a gas
//! leak, a group demanding wages).
//!
//! The words of each order come from the caller's segmenter (the hotline's jieba), as they
//! would in the service. Written for this project; no real request is in it.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};

use crate::facts::OrderFact;
use crate::period::midnight;

/// splitmix64: small, fast, the same sequence everywhere.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }

    /// An index drawn by `weights`.
    pub fn weighted(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut x = self.unit() * total;
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    }

    /// Poisson with mean `lambda` (Knuth's method; fine for the daily counts used here).
    pub fn poisson(&mut self, lambda: f64) -> u32 {
        if lambda > 60.0 {
            // Normal approximation for large means.
            let (u1, u2) = (self.unit().max(1e-12), self.unit());
            let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
            return (lambda + z * lambda.sqrt()).round().max(0.0) as u32;
        }
        let l = (-lambda).exp();
        let (mut k, mut p) = (0u32, 1.0f64);
        loop {
            p *= self.unit();
            if p <= l {
                return k;
            }
            k += 1;
        }
    }
}

/// The counties and districts of 运城 and their share of the calls.
pub const AREAS: [(&str, f64); 13] = [
    ("盐湖区", 30.0),
    ("永济市", 8.0),
    ("河津市", 8.0),
    ("临猗县", 7.0),
    ("万荣县", 5.0),
    ("闻喜县", 6.0),
    ("稷山县", 5.0),
    ("新绛县", 6.0),
    ("绛县", 4.0),
    ("垣曲县", 4.0),
    ("夏县", 5.0),
    ("平陆县", 5.0),
    ("芮城县", 7.0),
];

const STREETS: [&str; 12] = [
    "解放路",
    "中银大道",
    "河东街",
    "红旗街",
    "人民路",
    "槐东路",
    "学苑路",
    "禹都大道",
    "盐湖路",
    "东风路",
    "工农街",
    "机场路",
];
const ESTATES: [&str; 14] = [
    "阳光花园",
    "锦绣家园",
    "东城名苑",
    "翠园小区",
    "康馨苑",
    "滨河苑",
    "金水湾",
    "御景园",
    "和平小区",
    "电力小区",
    "文化苑",
    "河东小区",
    "盛世华庭",
    "南郊新村",
];

/// One kind of request: its category, unit, line, share (winter share), request types and
/// the texts callers say, with `{}` for a varying detail.
struct Kind {
    category: &'static str,
    unit: &'static str,
    line: &'static str,
    share: f64,
    winter_share: f64,
    /// (request type, weight).
    types: &'static [(&'static str, f64)],
    texts: &'static [&'static str],
    details: &'static [&'static str],
}

const CONSULT: &[(&str, f64)] = &[("consultation", 8.0), ("help", 1.0), ("other", 1.0)];
const COMPLAIN: &[(&str, f64)] = &[("complaint", 7.0), ("help", 2.0), ("suggestion", 1.0)];
const MIXED: &[(&str, f64)] = &[
    ("consultation", 4.0),
    ("complaint", 4.0),
    ("suggestion", 1.0),
    ("praise", 0.5),
    ("report", 0.5),
];

const KINDS: &[Kind] = &[
    Kind {
        category: "城乡建设/供暖/暖气不热",
        unit: "市住建局",
        line: "12345",
        share: 0.4,
        winter_share: 9.0,
        types: COMPLAIN,
        texts: &[
            "家里暖气不热，室温只有{}度，老人孩子受不了",
            "暖气片一直是凉的，{}天了供热公司也没人来看",
            "楼上楼下都不热，{}楼整栋暖气温度不达标",
        ],
        details: &["12", "13", "14", "15", "两", "三", "五", "6", "8"],
    },
    Kind {
        category: "城乡建设/供暖/收费",
        unit: "市住建局",
        line: "12345",
        share: 0.3,
        winter_share: 2.0,
        types: CONSULT,
        texts: &[
            "今年的取暖费标准是多少，{}能不能网上交",
            "没有供暖为什么还要交{}的空置费",
        ],
        details: &["每平米", "百分之三十", "全额"],
    },
    Kind {
        category: "水电/停水",
        unit: "运城供水公司",
        line: "12345",
        share: 2.5,
        winter_share: 2.5,
        types: MIXED,
        texts: &[
            "小区从{}开始停水了，什么时候能恢复供水",
            "水压太小，{}楼以上用不上水",
        ],
        details: &["早上", "昨天晚上", "中午", "六", "七"],
    },
    Kind {
        category: "水电/停电",
        unit: "国网运城供电公司",
        line: "95598",
        share: 2.5,
        winter_share: 2.5,
        types: MIXED,
        texts: &["{}突然停电了，也没有提前通知", "电压不稳，家里电器{}烧坏了"],
        details: &["晚上八点", "下午", "又", "一下子"],
    },
    Kind {
        category: "社会保障/养老保险",
        unit: "市人社局",
        line: "12333",
        share: 6.0,
        winter_share: 6.0,
        types: CONSULT,
        texts: &[
            "灵活就业人员养老保险{}怎么缴费",
            "退休手续办理需要准备哪些材料，{}能办吗",
            "养老金{}发放时间是哪天",
        ],
        details: &["今年", "网上", "这个月", "在社区"],
    },
    Kind {
        category: "社会保障/医保",
        unit: "市医保局",
        line: "12393",
        share: 6.0,
        winter_share: 6.0,
        types: CONSULT,
        texts: &[
            "异地就医备案{}怎么办理",
            "城乡居民医保{}缴费截止到什么时候",
            "门诊慢特病{}报销比例是多少",
        ],
        details: &["在手机上", "明年", "今年"],
    },
    Kind {
        category: "劳动保障/工资",
        unit: "市人社局",
        line: "12333",
        share: 2.0,
        winter_share: 3.0,
        types: COMPLAIN,
        texts: &[
            "在工地干活老板拖欠工资{}个月了",
            "公司{}不发工资还不签劳动合同",
        ],
        details: &["两", "三", "半年", "一直"],
    },
    Kind {
        category: "住房公积金",
        unit: "市住房公积金中心",
        line: "12329",
        share: 5.0,
        winter_share: 5.0,
        types: CONSULT,
        texts: &[
            "公积金{}提取需要什么材料",
            "公积金贷款额度{}怎么计算",
            "离职了公积金{}怎么转移",
        ],
        details: &["租房", "买房", "最高", "到外地"],
    },
    Kind {
        category: "公共交通/公交",
        unit: "市交通局",
        line: "12345",
        share: 4.0,
        winter_share: 4.0,
        types: MIXED,
        texts: &[
            "{}路公交车等了一个小时都不来",
            "公交司机{}不到站就开走了",
            "能不能开通到{}的公交线路",
        ],
        details: &["11", "5", "21", "机场", "高铁站", "盐湖区人民医院"],
    },
    Kind {
        category: "交通运输/道路",
        unit: "市交通局",
        line: "12345",
        share: 3.0,
        winter_share: 3.0,
        types: COMPLAIN,
        texts: &["路面{}坑坑洼洼，晚上骑车很危险", "红绿灯{}坏了没人修"],
        details: &["塌了一个大坑", "破损严重", "三天", "一直"],
    },
    Kind {
        category: "生态环境/噪音",
        unit: "市生态环境局",
        line: "12369",
        share: 3.5,
        winter_share: 2.5,
        types: COMPLAIN,
        texts: &[
            "工地晚上{}还在施工，噪音吵得睡不着",
            "楼下饭店油烟和噪音{}扰民",
        ],
        details: &["十二点", "凌晨两点", "十一点", "每天"],
    },
    Kind {
        category: "市场监管/食品安全",
        unit: "市市场监管局",
        line: "12315",
        share: 3.0,
        winter_share: 3.0,
        types: COMPLAIN,
        texts: &["在超市买的{}过期了", "饭店卫生条件太差，吃完{}拉肚子"],
        details: &["牛奶", "面包", "饮料", "全家"],
    },
    Kind {
        category: "城市管理/占道经营",
        unit: "市城市管理局",
        line: "12319",
        share: 3.0,
        winter_share: 2.0,
        types: COMPLAIN,
        texts: &["小区门口{}占道经营，堵得车过不去", "路边{}乱停乱放影响通行"],
        details: &["早市摊贩", "夜市", "共享单车", "三轮车"],
    },
    Kind {
        category: "物业管理/服务",
        unit: "市住建局",
        line: "12345",
        share: 4.0,
        winter_share: 4.0,
        types: COMPLAIN,
        texts: &["物业{}不管事，垃圾好几天没人清", "电梯{}坏了物业一直不修"],
        details: &["一直", "经常", "三天", "一个星期"],
    },
    Kind {
        category: "教育/入学",
        unit: "市教育局",
        line: "12345",
        share: 3.0,
        winter_share: 2.0,
        types: CONSULT,
        texts: &["孩子{}上小学划片怎么查询", "外地户口孩子{}入学需要什么手续"],
        details: &["明年", "今年秋季", "转学"],
    },
    Kind {
        category: "公安/户籍",
        unit: "市公安局",
        line: "12345",
        share: 4.0,
        winter_share: 4.0,
        types: CONSULT,
        texts: &["身份证{}补办需要多长时间", "孩子落户{}需要哪些材料"],
        details: &["丢了", "异地", "出生", "随迁"],
    },
    Kind {
        category: "不动产/登记",
        unit: "市自然资源局",
        line: "12345",
        share: 2.5,
        winter_share: 2.5,
        types: CONSULT,
        texts: &["房产证{}一直办不下来", "二手房过户{}需要交哪些税"],
        details: &["交房三年了", "开发商原因", "现在"],
    },
    Kind {
        category: "税务/发票",
        unit: "国家税务总局运城市税务局",
        line: "12366",
        share: 2.0,
        winter_share: 2.0,
        types: CONSULT,
        texts: &["个人所得税{}怎么申报", "小规模纳税人{}开发票怎么操作"],
        details: &["年度汇算", "专项附加扣除", "网上"],
    },
    Kind {
        category: "农业农村/补贴",
        unit: "市农业农村局",
        line: "12316",
        share: 2.0,
        winter_share: 1.5,
        types: CONSULT,
        texts: &["耕地地力保护补贴{}什么时候发", "农机购置补贴{}怎么申请"],
        details: &["今年", "去年的", "玉米"],
    },
    Kind {
        category: "政务服务/表扬",
        unit: "市行政审批服务管理局",
        line: "12345",
        share: 1.0,
        winter_share: 1.0,
        types: &[("praise", 1.0)],
        texts: &[
            "感谢{}窗口工作人员耐心热情帮我办完了手续",
            "{}热线帮我解决了问题，特别感谢",
        ],
        details: &["政务大厅", "社保", "12345"],
    },
];

const CHANNELS: [(&str, f64); 4] = [("phone", 85.0), ("wechat", 7.0), ("web", 5.0), ("app", 3.0)];

/// What to generate.
#[derive(Debug, Clone)]
pub struct MonthSpec {
    pub year: i32,
    pub month: u32,
    /// Orders on an average weekday (weekends get 70 %).
    pub per_day: f64,
    /// Days before the month also generated (the baselines' history).
    pub lead_days: u32,
    pub seed: u64,
    /// A blocked sewer at one address, 12 reports over 3 days from day 12.
    pub plant_cluster: bool,
    /// Day 20: water cut across the city, about 40 more 停水 reports than usual.
    pub plant_spike: bool,
    /// Two requests with sensitive phrases (a gas leak on day 8, a group demanding wages on
    /// day 25).
    pub plant_sensitive: bool,
}

impl MonthSpec {
    /// January 2026 (winter), 150 orders a weekday, 28 days of history, nothing planted.
    pub fn normal(year: i32, month: u32, seed: u64) -> Self {
        MonthSpec {
            year,
            month,
            per_day: 150.0,
            lead_days: 28,
            seed,
            plant_cluster: false,
            plant_spike: false,
            plant_sensitive: false,
        }
    }

    pub fn first_day(&self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).expect("a valid month")
    }

    pub fn day(&self, n: u32) -> NaiveDate {
        self.first_day() + Duration::days(i64::from(n) - 1)
    }
}

/// The orders that the planted events made.
#[derive(Debug, Clone, Default)]
pub struct Planted {
    pub cluster: Vec<String>,
    pub cluster_address: String,
    pub spike_day: Option<NaiveDate>,
    pub spike_category: String,
    pub spike_orders: Vec<String>,
    pub sensitive: Vec<String>,
}

fn winter(month: u32) -> bool {
    matches!(month, 11 | 12 | 1 | 2 | 3)
}

struct Maker<'a> {
    rng: Rng,
    seq: u32,
    segment: &'a dyn Fn(&str) -> Vec<String>,
}

impl Maker<'_> {
    #[allow(clippy::too_many_arguments)]
    fn order(
        &mut self,
        at: DateTime<Utc>,
        channel: &str,
        request_type: &str,
        category: &str,
        area: &str,
        address: String,
        unit: &str,
        line: &str,
        text: String,
    ) -> OrderFact {
        self.seq += 1;
        let day = crate::period::day_of(at);
        OrderFact {
            no: format!("YC{}-{:06}", day.format("%Y%m%d"), self.seq),
            at,
            channel: channel.to_string(),
            request_type: request_type.to_string(),
            category: category.to_string(),
            area: area.to_string(),
            // The request's own words: the address is a field of its own (clusters compare it
            // apart; as words it would make every request of an estate look alike).
            words: (self.segment)(&text),
            address,
            unit: Some(unit.to_string()),
            line: line.to_string(),
            text,
        }
    }

    /// A time of day weighted to office hours (8–22 Beijing, most in 9–17).
    fn time_on(&mut self, day: NaiveDate) -> DateTime<Utc> {
        let hour_weights = [
            0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.5, 1.5, 4.0, 8.0, 9.0, 8.0, 5.0, 6.0, 8.0, 8.0, 7.0,
            5.0, 3.0, 3.0, 2.5, 2.0, 1.0, 0.5,
        ];
        let h = self.rng.weighted(&hour_weights) as i64;
        let s = self.rng.below(3600) as i64;
        midnight(day) + Duration::hours(h) + Duration::seconds(s)
    }

    fn address(&mut self, area: &str) -> String {
        let street = *self.rng.pick(&STREETS);
        let estate = *self.rng.pick(&ESTATES);
        let n = 1 + self.rng.below(300);
        format!("{area}{street}{n}号{estate}")
    }
}

/// Generates the month (and its lead-in days), oldest first; words come from `segment`.
pub fn month(spec: &MonthSpec, segment: &dyn Fn(&str) -> Vec<String>) -> (Vec<OrderFact>, Planted) {
    let mut m = Maker {
        rng: Rng::new(spec.seed),
        seq: 0,
        segment,
    };
    let mut out = Vec::new();
    let mut planted = Planted::default();
    let start = spec.first_day() - Duration::days(i64::from(spec.lead_days));
    let end = {
        let (y, mo) = if spec.month == 12 {
            (spec.year + 1, 1)
        } else {
            (spec.year, spec.month + 1)
        };
        NaiveDate::from_ymd_opt(y, mo, 1).expect("next month")
    };
    let area_w: Vec<f64> = AREAS.iter().map(|(_, w)| *w).collect();
    let channel_w: Vec<f64> = CHANNELS.iter().map(|(_, w)| *w).collect();
    let mut day = start;
    while day < end {
        let kind_w: Vec<f64> = KINDS
            .iter()
            .map(|k| {
                if winter(day.month()) {
                    k.winter_share
                } else {
                    k.share
                }
            })
            .collect();
        let weekend = day.weekday().number_from_monday() >= 6;
        let n = m
            .rng
            .poisson(spec.per_day * if weekend { 0.7 } else { 1.0 });
        for _ in 0..n {
            let k = &KINDS[m.rng.weighted(&kind_w)];
            let area = AREAS[m.rng.weighted(&area_w)].0;
            let channel = CHANNELS[m.rng.weighted(&channel_w)].0;
            let ty_w: Vec<f64> = k.types.iter().map(|(_, w)| *w).collect();
            let ty = k.types[m.rng.weighted(&ty_w)].0;
            let template = *m.rng.pick(k.texts);
            let detail = *m.rng.pick(k.details);
            let text = template.replacen("{}", detail, 1);
            let address = m.address(area);
            let at = m.time_on(day);
            out.push(m.order(
                at, channel, ty, k.category, area, address, k.unit, k.line, text,
            ));
        }
        let in_month = day >= spec.first_day();
        let nth = (day - spec.first_day()).num_days() + 1;
        if in_month && spec.plant_cluster && (12..=14).contains(&nth) {
            let address = "盐湖区红旗街道凤凰小区3号楼".to_string();
            planted.cluster_address = address.clone();
            let says = [
                "凤凰小区3号楼楼下污水管道堵了，污水冒到路面上，臭味很大",
                "3号楼前面的污水井堵塞，污水冒出来好几天了，臭味熏得没法开窗",
                "凤凰小区污水管道堵塞，污水漫到路面，居民出行困难，臭味很大",
                "污水管道又堵了，3号楼楼下全是污水，臭味太大",
            ];
            for i in 0..4 {
                let at = m.time_on(day);
                let text = says[(i + nth as usize) % says.len()].to_string();
                let o = m.order(
                    at,
                    "phone",
                    "complaint",
                    "城市管理/市政设施/排水",
                    "盐湖区",
                    address.clone(),
                    "市城市管理局",
                    "12319",
                    text,
                );
                planted.cluster.push(o.no.clone());
                out.push(o);
            }
        }
        if in_month && spec.plant_spike && nth == 20 {
            planted.spike_day = Some(day);
            planted.spike_category = "水电/停水".into();
            for _ in 0..40 {
                let area = AREAS[m.rng.weighted(&area_w)].0;
                let address = m.address(area);
                let at = m.time_on(day);
                let text = m
                    .rng
                    .pick(&[
                        "家里突然停水了，没有接到通知，什么时候来水",
                        "整栋楼都没水了，做饭都没法做",
                        "停水一上午了，打供水公司电话打不通",
                    ])
                    .to_string();
                let o = m.order(
                    at,
                    "phone",
                    "complaint",
                    "水电/停水",
                    area,
                    address,
                    "运城供水公司",
                    "12345",
                    text,
                );
                planted.spike_orders.push(o.no.clone());
                out.push(o);
            }
        }
        if in_month && spec.plant_sensitive && (nth == 8 || nth == 25) {
            let (text, category, unit) = if nth == 8 {
                (
                    "楼道里燃气泄漏味道很重，邻居家没人，担心会爆炸",
                    "城乡建设/燃气",
                    "市住建局",
                )
            } else {
                (
                    "我们三十多个工人被拖欠工资，准备明天集体讨薪去市政府",
                    "劳动保障/工资",
                    "市人社局",
                )
            };
            let address = m.address("盐湖区");
            let at = m.time_on(day);
            let o = m.order(
                at,
                "phone",
                "help",
                category,
                "盐湖区",
                address,
                unit,
                "12345",
                text.to_string(),
            );
            planted.sensitive.push(o.no.clone());
            out.push(o);
        }
        day += Duration::days(1);
    }
    out.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.no.cmp(&b.no)));
    (out, planted)
}
