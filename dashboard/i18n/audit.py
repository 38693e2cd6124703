"""Text of the audit page (/audit)."""

STRINGS = {
    "nav.audit": ("审计日志", "Audit log"),
    "audit.title": ("审计日志：谁、何时、做了什么", "Audit log: who did what, when"),
    "audit.actor": ("操作人", "Actor"),
    "audit.action": ("操作（前缀）", "Action (prefix)"),
    "audit.action_col": ("操作", "Action"),
    "audit.incident": ("警情编号", "Incident"),
    "audit.from": ("起", "From"),
    "audit.to": ("止", "To"),
    "audit.search": ("查询", "Search"),
    "audit.export": ("导出 CSV", "Export CSV"),
    "audit.count": ("{n} 条（最新在前，最多 {max} 条）", "{n} entries (newest first, at most {max})"),
    "audit.exported": ("已导出 {n} 条（最早在前）", "Exported {n} entries (oldest first)"),
    "audit.too_many": ("符合条件的超过 {max:,} 条，未导出：请缩小日期范围，或用命令 qingzhi audit --export 导出全部",
                       "More than {max:,} entries match; nothing exported: narrow the dates, or export them all "
                       "with the command qingzhi audit --export"),
    "audit.ts": ("时间", "Time"),
    "audit.unit": ("警力", "Unit"),
    "audit.screen": ("界面", "Screen"),
    "audit.details": ("详情", "Details"),
}
