"""Static data of the demo district: Keqiao's towns, the units at each level, and name parts.

Town names, anchors and unit lists are Keqiao's; boundaries, village names and people are made up.
Anchors sit roughly where each town really is, squeezed into the demo rectangle (the real southern
towns lie further south).
"""

from __future__ import annotations

from typing import NamedTuple

DISTRICT_CODE = "330603"
DISTRICT_NAME = "柯桥区"
# (min lng, min lat, max lng, max lat) of the demo district.
DISTRICT_BBOX = (120.35, 29.95, 120.65, 30.20)


class Town(NamedTuple):
    """A town or street (街道): its 3-digit sequence, name, area type and anchor (lng, lat)."""

    sequence: int
    name: str
    area_type: str  # streets are "urban", towns "rural"
    lng: float
    lat: float


TOWNS: tuple[Town, ...] = (
    Town(1, "柯桥街道", "urban", 120.500, 30.090),
    Town(2, "柯岩街道", "urban", 120.470, 30.050),
    Town(3, "华舍街道", "urban", 120.450, 30.115),
    Town(4, "湖塘街道", "urban", 120.430, 30.045),
    Town(5, "兰亭街道", "urban", 120.525, 30.000),
    Town(6, "福全街道", "urban", 120.575, 30.075),
    Town(7, "齐贤街道", "urban", 120.520, 30.155),
    Town(8, "安昌街道", "urban", 120.450, 30.165),
    Town(9, "马鞍街道", "urban", 120.590, 30.170),
    Town(10, "钱清街道", "urban", 120.400, 30.095),
    Town(11, "杨汛桥街道", "urban", 120.370, 30.145),
    Town(101, "平水镇", "rural", 120.615, 30.020),
    Town(102, "王坛镇", "rural", 120.580, 29.965),
    Town(103, "稽东镇", "rural", 120.500, 29.965),
    Town(104, "夏履镇", "rural", 120.375, 30.035),
    Town(105, "漓渚镇", "rural", 120.445, 29.985),
)
DEMO_TOWN = "柯桥街道"


class UnitKind(NamedTuple):
    """A kind of responsible unit: its Chinese name, unit_type and platform."""

    name: str
    unit_type: str
    platform: str | None


# The 12 dispatched agencies (派驻机构) at every town, in the order their codes are numbered.
AGENCIES: tuple[UnitKind, ...] = (
    UnitKind("综合行政执法中队", "law_enforcement_squadron", "enforcement"),
    UnitKind("市场监督管理所", "market_supervision_office", "market"),
    UnitKind("派出所", "police_station", "governance"),
    UnitKind("司法所", "justice_office", "governance"),
    UnitKind("自然资源所", "natural_resources_office", "enforcement"),
    UnitKind("生态环境监管站", "ecology_station", "enforcement"),
    UnitKind("交警中队", "traffic_police_squadron", "enforcement"),
    UnitKind("消防救援站", "fire_rescue_station", "market"),
    UnitKind("应急管理站", "emergency_management_station", "market"),
    UnitKind("人力社保所", "human_resources_office", "service"),
    UnitKind("税务分局", "tax_branch", "market"),
    UnitKind("供电所", "power_supply_office", "service"),
)
TOWN_OFFICES: tuple[UnitKind, ...] = (
    UnitKind("综治办（平安办）", "comprehensive_governance_office", "governance"),
    UnitKind("信访办", "petition_office", "governance"),
    UnitKind("民政办", "civil_affairs_office", "service"),
    UnitKind("城建办", "urban_construction_office", "enforcement"),
    UnitKind("农业农村办（河长办）", "agriculture_office", "enforcement"),
)
COORDINATION_GROUPS: tuple[UnitKind, ...] = (
    UnitKind("综治工作平台协调组", "platform_coordination_group", "governance"),
    UnitKind("市场监管平台协调组", "platform_coordination_group", "market"),
    UnitKind("综合执法平台协调组", "platform_coordination_group", "enforcement"),
    UnitKind("便民服务平台协调组", "platform_coordination_group", "service"),
)
DISTRICT_DEPARTMENTS: tuple[UnitKind, ...] = (
    UnitKind("柯桥区信访局", "petition_bureau", "governance"),
    UnitKind("柯桥区综合信息指挥中心", "command_center", None),
    UnitKind("柯桥区综合行政执法局", "law_enforcement_bureau", "enforcement"),
    UnitKind("柯桥区市场监督管理局", "market_supervision_bureau", "market"),
    UnitKind("公安柯桥区分局", "public_security_bureau", "governance"),
    UnitKind("柯桥区生态环境分局", "ecology_bureau", "enforcement"),
    UnitKind("柯桥区住房和城乡建设局", "housing_construction_bureau", "enforcement"),
    UnitKind("柯桥区民政局", "civil_affairs_bureau", "service"),
    UnitKind("柯桥区人力社会保障局", "human_resources_bureau", "service"),
    UnitKind("柯桥区应急管理局", "emergency_management_bureau", "market"),
    UnitKind("柯桥区自然资源和规划分局", "natural_resources_bureau", "enforcement"),
    UnitKind("柯桥区交通运输局", "transport_bureau", "enforcement"),
)
VILLAGE_COMMITTEE = {"village": "村委会", "community": "居委会"}
COMMAND_ROOM = "综合信息指挥室"

# Village names are <first><second> + 村/社区, drawn from these parts.
VILLAGE_FIRST = (
    "东西南北前后上下新老大小"
    "金银石铜梅兰竹松柳桃杏荷"
    "湖江溪塘山河港泾浦柯鉴兴"
    "安福寿丰华永长高光明清秀"
    "凤龙鹤鹿潘沈钱陶谢阮俞傅"
)
VILLAGE_SECOND = "塘桥湖溪山浦港园庄埠岸湾头墩坞泾圩潭里渡堰畈岙岭坂田家社渚"

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹"
    "彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金"
    "石廖贾夏方邹孟秦邱江薛雷侯史陶顾毛邵钱严戴孔汤俞傅屠阮楼骆宣"
)
GIVEN_NAME_CHARS = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国"
    "志文斌宇浩凯鹏飞海燕晓慧婷雪琳俊峰立新春梅丹云波辉鑫晨阳佳琪"
    "欣怡子轩思远嘉豪宏亮永康振宁德荣金水根土昌林松柏桥江"
)

SCHOOL_STAGES = (
    ("幼儿园", 150, 450),
    ("小学", 400, 1800),
    ("初级中学", 500, 1600),
    ("实验学校", 800, 2400),
)
EMERGENCY_RESOURCES = ("沙袋", "救生衣", "抽水泵", "发电机", "帐篷", "灭火器", "冲锋舟", "应急照明")
INDUSTRIES = (
    "纺织",
    "印染",
    "化纤",
    "服装",
    "家纺",
    "机械",
    "五金",
    "电子",
    "建材",
    "食品",
    "包装",
    "物流",
    "贸易",
    "塑料制品",
    "新材料",
)
ENTERPRISE_PREFIXES = ("绍兴", "浙江", "绍兴柯桥", "绍兴市")
HYDRANT_TYPES = ("地上式", "地下式", "墙壁式")
CAMERA_VENDORS = ("海康威视", "大华", "宇视", "天地伟业")
CAMERA_PLACES = (
    "路口",
    "村口",
    "广场",
    "停车场",
    "河道",
    "桥头",
    "菜场",
    "学校门口",
    "公园",
    "主干道",
)
SPECIAL_GRID_NAMES = {"market": "农贸市场网格", "enterprise": "工业园区网格", "school": "校园网格"}
# Trade names (字号) of enterprises are two of these.
ENTERPRISE_WORDS = "恒泰永盛华鑫兴达源昌隆丰宏瑞嘉德新远航锦绣凯诚信裕富祥和顺安"
HOSPITAL_SUFFIXES = ("医院", "中医门诊部", "骨伤医院", "妇产医院", "口腔医院", "康复医院")
