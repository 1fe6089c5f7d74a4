"""The records' vocabulary: codes stored, and the words people read for them (msgids)."""

from __future__ import annotations

from renewmap.i18n import N_

MEETING_KINDS = {
    "joint": N_("Joint conference"),  # 联席会
    "forum": N_("Forum"),  # 座谈会
    "council": N_("Deliberation council"),  # 议事会
    "building_group": N_("Building group meeting"),  # 楼组会
    "four_party": N_("Four parties deliberate, answer together"),  # 四议共答
    "other": N_("Other meeting"),
}
# Who takes part (the parties of 四议共答 and the others the reports name).
PARTIES = {
    "residents_committee": N_("Residents' committee"),  # 居委会
    "owners_committee": N_("Owners' committee"),  # 业委会
    "property_manager": N_("Property manager"),  # 物业
    "resident_reps": N_("Resident representatives"),  # 居民代表
    "party_branch": N_("Party branch"),  # 党组织
    "designers": N_("Designers"),  # 设计师
    "subdistrict": N_("Subdistrict office"),  # 街道
    "partners": N_("Community partners"),  # 社区合伙人
}
# An attendee's role: one of the parties, or a resident coming on their own.
ATTENDEE_ROLES = {**PARTIES, "resident": N_("Resident")}
LINK_TARGETS = ("request", "proposal", "site")

PROPOSER_KINDS = {"resident": N_("Resident"), "partner": N_("Community partner")}
PROPOSAL_STATUSES = {
    "submitted": N_("Proposal submitted"),
    "discussing": N_("Under discussion"),
    "adopted": N_("Proposal adopted"),
    "became_site": N_("Became a site"),
    "declined": N_("Declined"),
}
# Where a proposal may go from each status (declining needs a reason, a site needs its code).
PROPOSAL_MOVES = {
    "submitted": ("discussing", "adopted", "declined"),
    "discussing": ("adopted", "declined"),
    "adopted": ("became_site", "declined"),
    "became_site": (),
    "declined": (),
}

FUND_KINDS = {
    "budget": N_("Budget"),
    "income": N_("Source of funds"),
    "spending": N_("Spending"),
    "material": N_("Donated material"),
    "pledge": N_("Crowdfunding pledge"),
}
FUND_SOURCES = {
    "subdistrict_grant": N_("Subdistrict grant"),  # 街道拨款
    "foundation": N_("Foundation"),  # 基金会
    "crowdfunding": N_("Crowdfunding"),  # 众筹
    "self_funded": N_("Residents' own funds"),  # 居民自筹
    "charity": N_("Charity sale or donation"),  # 义卖/捐款
}

# --- people (the roster), conventions, events and points ---------------------------------------
PERSON_ROLES = {
    "volunteer": N_("Volunteer"),  # 志愿者
    "partner": N_("Community partner"),  # 社区合伙人
    "party_volunteer": N_("Party-member volunteer"),  # 党员志愿者
}
PARTNER_KINDS = {
    "think_tank": N_("Think tank"),  # 智库
    "planning": N_("Planning partner"),  # 规划
    "governance": N_("Governance partner"),  # 治理
    "media": N_("Media partner"),  # 媒体
    "education": N_("Education partner"),  # 教育
}
PERSON_LINKS = {
    "site": N_("Site"),
    "patrol": N_("Patrol"),
    "adoption": N_("Plant adoption"),
}
CONVENTION_SCOPES = {
    "building": N_("Building convention"),  # 楼组公约
    "stairwell": N_("Stairwell convention"),  # 楼道公约
    "facility": N_("Facility convention"),  # 设施使用公约
}
EVENT_KINDS = {
    "lecture": N_("Micro-lecture"),  # 微讲堂
    "workshop": N_("Workshop"),  # 工作坊
    "market": N_("Market"),  # 集市
    "naming_contest": N_("Naming contest"),  # 征名活动
    "other": N_("Other event"),
}
POINTS_KINDS = {
    "volunteering": N_("Volunteering"),  # 志愿服务
    "patrol": N_("Patrol walked"),  # 参加巡查
    "care_log": N_("Plant care logged"),  # 养护记录
    "event": N_("Event attended"),  # 参加活动
    "redemption": N_("Redeemed at the points supermarket"),  # 积分超市兑换
}
# Points earned per source (volunteering: per hour). Redemptions spend what staff enter.
POINTS_PER_HOUR = 10
POINTS_FOR = {"patrol": 10, "care_log": 2, "event": 5}
