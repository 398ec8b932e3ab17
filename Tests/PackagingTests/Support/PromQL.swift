/// The metric names a PromQL expression reads, found without a full parser: string literals,
/// label matchers, range and subquery brackets, grouping clauses, numbers and Grafana variables
/// are removed; what remains and is not a PromQL function, aggregation or keyword is a metric.
enum PromQL {
    static let keywords: Set<String> = [
        // aggregation operators and their modifiers
        "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk", "quantile",
        "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset",
        // functions used in dashboards and alerts (extend when a new one is used)
        "abs", "absent", "absent_over_time", "ceil", "changes", "clamp", "clamp_max", "clamp_min", "delta", "deriv",
        "floor", "histogram_quantile", "idelta", "increase", "irate", "label_replace", "label_join", "label_values",
        "rate", "resets", "round", "scalar", "sort", "sort_desc", "time", "timestamp", "vector", "avg_over_time",
        "max_over_time", "min_over_time", "sum_over_time", "count_over_time", "last_over_time", "present_over_time",
        "inf", "nan",
    ]

    static func metricNames(in expression: String) -> Set<String> {
        var text = expression
        for pattern in [
            #""(?:[^"\\]|\\.)*""#, #"'(?:[^'\\]|\\.)*'"#,  // strings
            #"\{[^}]*\}"#, #"\[[^\]]*\]"#,  // label matchers, ranges
            #"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)"#,  // grouping label lists
            #"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?"#,  // Grafana variables
            #"\b[0-9][0-9.eE+-]*[smhdwy]?\b"#,  // numbers and durations
        ] {
            text = text.replacingOccurrences(of: pattern, with: " ", options: .regularExpression)
        }
        // label_values(metric, label): the second argument is a label, not a metric.
        text = text.replacingOccurrences(of: #",\s*[A-Za-z_][A-Za-z0-9_]*\s*\)"#, with: ")", options: .regularExpression)
        var names: Set<String> = []
        let identifier = /[A-Za-z_:][A-Za-z0-9_:]*/
        for match in text.matches(of: identifier) {
            let name = String(match.output)
            if !keywords.contains(name) { names.insert(name) }
        }
        return names
    }
}
