"""Plausible names for the demo district's 330 units (蔡甸区, Wuhan).

57 机关科室 (sections of district departments with approval or enforcement
power) and 273 基层站所 (grassroots stations), as in the 2017 evaluation.
"""

from __future__ import annotations

SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("区发展和改革局", ("行政审批科", "价格监督检查科", "固定资产投资科")),
    ("区经济和信息化局", ("行政审批科", "企业服务科")),
    ("区教育局", ("行政审批科", "民办教育管理科", "学生资助管理中心")),
    ("区公安分局", ("治安管理大队", "出入境管理科", "户政科", "交通管理大队车管所")),
    ("区民政局", ("社会组织管理科", "社会救助科", "婚姻登记处")),
    ("区司法局", ("法律援助中心", "公证处")),
    ("区财政局", ("政府采购管理科", "国库集中支付中心")),
    ("区人力资源和社会保障局", ("劳动保障监察大队", "就业训练中心", "社会保险管理中心")),
    ("区自然资源和规划局", ("不动产登记中心", "用地管理科", "规划管理科")),
    ("区生态环境分局", ("环境监察大队", "环评审批科")),
    ("区住房和城乡建设局", ("建筑管理科", "质量安全监督站", "房产交易管理所")),
    ("区城市管理执法局", ("市容环境卫生科", "城管执法大队")),
    ("区交通运输局", ("运输管理所", "交通执法大队")),
    ("区水务和湖泊局", ("水政监察大队", "行政审批科")),
    ("区农业农村局", ("农业综合执法大队", "动物卫生监督所", "农村经营管理科")),
    ("区商务局", ("市场体系建设科", "外资外经科")),
    ("区文化和旅游局", ("文化市场综合执法大队", "行政审批科")),
    ("区卫生健康局", ("卫生计生监督所", "医政医管科", "疾病预防控制中心")),
    ("区应急管理局", ("安全生产执法大队", "危险化学品监管科")),
    ("区市场监督管理局", ("登记注册科", "食品生产监管科", "特种设备安全监察科", "价格监督检查科")),
    ("区税务局", ("第一税务分局", "纳税服务科")),
    ("区政务服务和大数据管理局", ("综合窗口科", "投资项目审批科")),
    ("区退役军人事务局", ("优抚安置科",)),
)

STREETS = (
    "蔡甸街",
    "奓山街",
    "永安街",
    "侏儒山街",
    "大集街",
    "张湾街",
    "索河街",
    "玉贤街",
    "消泗乡",
    "洪北管委会",
    "中法生态城",
    "桐湖办事处",
    "军山街",
)
STATION_KINDS = (
    "派出所",
    "税务所",
    "司法所",
    "市场监督管理所",
    "自然资源和规划所",
    "财政所",
    "劳动就业和社会保障服务中心",
    "卫生院",
    "交通管理站",
    "农业服务中心",
    "城管执法中队",
    "供电所",
    "水务站",
    "林业站",
    "文化站",
    "国土资源管理所",
    "环境卫生管理站",
    "房屋征收服务站",
    "民政办",
    "安全生产监督站",
    "便民服务中心",
)
DISTRICT_CENTRES = (
    "区住房保障管理中心",
    "区排水中心",
    "区公积金管理部",
    "区不动产交易中心",
    "区医疗保障服务中心",
    "区公共资源交易中心",
    "区城市供水服务站",
    "区燃气管理所",
    "区殡葬管理所",
    "区物价检查所",
    "区机动车检测站",
    "区流动人口服务中心",
    "区退役军人服务站",
    "区残疾人服务中心",
    "区劳动人事争议仲裁院",
    "区婚姻登记服务中心",
    "区出租车管理站",
    "区园林绿化管理站",
    "区市政设施管理所",
    "区道路运输服务站",
)


def demo_units() -> list[tuple[str, str, str, str]]:
    """Return 330 (code, name, category, department) tuples: 57 sections, 273 stations."""
    units: list[tuple[str, str, str, str]] = []
    for department, sections in SECTIONS:
        for section in sections:
            units.append(
                (f"JG{len(units) + 1:03d}", f"{department}{section}", "机关科室", department)
            )
    units = units[:57]
    stations: list[tuple[str, str]] = [(name, "区直单位") for name in DISTRICT_CENTRES]
    for kind in STATION_KINDS:
        for street in STREETS:
            stations.append((f"{street}{kind}", street))
    for index, (name, department) in enumerate(stations[:273], start=1):
        units.append((f"JC{index:03d}", name, "基层站所", department))
    return units
