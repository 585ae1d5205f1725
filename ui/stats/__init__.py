"""The 统计 page (issue 16): figures of a period, breakdowns, the daily chart, overdue cases and 催办, exports."""
