"""The data contract (../shared/DATA_CONTRACT.md, v1) as data.

Every table the system reads is described here once: field names (the national platform's),
Chinese header aliases, the kind of each field and whether it is required. The loader, the
validator, the warehouse and the synthetic generator all read this module; nothing else
hard-codes a field list.

Kinds:
    code       a code kept as a string (leading zeros matter); ``pad`` gives its width
    text       free text
    amount     money in 元 (DOUBLE)
    number     any other number (DOUBLE)
    int        an integer count
    date       YYYY-MM-DD
    timestamp  YYYY-MM-DD HH:MM:SS
    month      YYYY-MM
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Field:
    name: str
    zh: str
    kind: str = "text"
    required: bool = True
    pad: int = 0  # zero-pad codes to this width (``2`` -> ``02``)
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Table:
    name: str
    zh: str
    required: bool
    fields: tuple[Field, ...]
    key: tuple[str, ...] = ()
    large: bool = False
    note: str = ""
    required_if: str = ""  # a condition in words, e.g. 'DRG regions'

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.fields]


F = Field

# Direct identifiers: dropped at load time wherever they appear, never written anywhere.
IDENTIFIER_COLUMNS = {
    "psn_name": "人员姓名",
    "certno": "证件号码",
    "psn_cert_type": "人员证件类型",
    "tel": "联系电话",
    "addr": "联系地址",
    "mob": "手机号码",
    "email": "电子邮箱",
    "emp_name": "单位名称",
    "card_sn": "社会保障卡号",
    "bank_acct": "银行账号",
}
IDENTIFIER_ALIASES = {
    "姓名", "患者姓名", "人员姓名", "证件号码", "身份证号", "身份证号码", "公民身份号码", "联系电话", "电话",
    "手机号", "手机号码", "地址", "联系地址", "家庭住址", "现住址", "社会保障卡号", "社保卡号", "银行账号",
}

SETL_AMOUNTS = (
    "medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt",
    "hifp_pay", "acct_pay", "hifmi_pay", "maf_pay", "oth_pay", "psn_cash_pay",
)
FEE_COMPONENTS = ("fee_drug", "fee_mcs", "fee_exam", "fee_lab", "fee_trt", "fee_oprn", "fee_srvc", "fee_oth")

TABLES: dict[str, Table] = {}


def _add(t: Table) -> None:
    TABLES[t.name] = t


_add(Table("poolarea", "统筹地区", True, (
    F("poolarea_no", "统筹区编号", "code", pad=6, aliases=("统筹地区编号", "统筹区划")),
    F("poolarea_name", "统筹区名称", aliases=("统筹地区名称",)),
    F("prov_name", "省份", required=False, aliases=("省份名称", "省名称")),
    F("pay_method", "支付方式", aliases=("付费方式",)),
), key=("poolarea_no",)))

_add(Table("fixmedins", "定点医药机构", True, (
    F("fixmedins_code", "定点医药机构编号", "code", aliases=("机构编码", "定点机构编号")),
    F("fixmedins_name", "定点医药机构名称", aliases=("机构名称", "定点机构名称")),
    F("poolarea_no", "统筹区编号", "code", pad=6),
    F("fixmedins_type", "定点医药机构类型", "code", pad=1, aliases=("机构类型",)),
    F("hosp_lv", "医院等级", "code", pad=2, aliases=("医疗机构等级",)),
    F("medins_type", "医疗机构类别", required=False),
    F("ownership", "举办主体", required=False),
    F("specialty", "专科", required=False),
    F("beds", "开放床位数", "int", aliases=("床位数", "实际开放床位数")),
    F("drg_dip_flag", "是否开展DRG/DIP付费", "code", pad=1, aliases=("是否开展DRG付费", "是否开展DIP付费")),
    F("begn_date", "定点开始日期", "date", required=False),
), key=("fixmedins_code",)))

_add(Table("psn_insu_month", "参保人数", True, (
    F("poolarea_no", "统筹区编号", "code", pad=6),
    F("month", "月份", "month", aliases=("年月", "统计月份")),
    F("insutype", "险种类型", "code", pad=3),
    F("psn_cnt", "月末参保人数", "int", aliases=("参保人数",)),
), key=("poolarea_no", "month", "insutype")))

_add(Table("fund_report", "医保基金报表", True, (
    F("poolarea_no", "统筹区编号", "code", pad=6),
    F("month", "月份", "month", aliases=("年月", "统计月份")),
    F("fund", "基金类型", "code", aliases=("基金",)),
    F("item", "项目", aliases=("报表项目",)),
    F("amount", "金额", "amount", aliases=("本月金额",)),
), key=("poolarea_no", "month", "fund", "item")))

_add(Table("budget", "总额预算", False, (
    F("poolarea_no", "统筹区编号", "code", pad=6),
    F("year", "年度", "int", aliases=("预算年度",)),
    F("item", "项目", aliases=("预算项目",)),
    F("amount", "金额", "amount", aliases=("预算金额",)),
    F("fixmedins_code", "定点医药机构编号", "code", required=False),
), note="required for annual items (24–27), optional otherwise"))

_add(Table("setl", "结算信息", True, (
    F("setl_id", "结算ID", "code", aliases=("结算id", "结算编号")),
    F("mdtrt_id", "就诊ID", "code", aliases=("就诊id", "就诊编号")),
    F("psn_no", "人员编号", "code"),
    F("poolarea_no", "就医地统筹区", "code", pad=6, aliases=("就医地统筹区编号", "统筹区编号")),
    F("insu_admdvs", "参保地医保区划", "code", pad=6, aliases=("参保地统筹区",)),
    F("insutype", "险种类型", "code", pad=3),
    F("fixmedins_code", "定点医药机构编号", "code"),
    F("med_type", "医疗类别", "code", pad=2),
    F("begndate", "开始日期", "date", aliases=("入院日期", "就诊开始日期")),
    F("enddate", "结束日期", "date", aliases=("出院日期", "就诊结束日期")),
    F("setl_time", "结算时间", "timestamp"),
    F("medfee_sumamt", "医疗费总额", "amount"),
    F("fulamt_ownpay_amt", "全自费金额", "amount"),
    F("overlmt_selfpay", "超限价自费费用", "amount", required=False),
    F("preselfpay_amt", "先行自付金额", "amount", required=False),
    F("inscp_scp_amt", "符合政策范围金额", "amount", required=False),
    F("hifp_pay", "统筹基金支出", "amount"),
    F("acct_pay", "个人账户支出", "amount", required=False),
    F("hifmi_pay", "大病保险支出", "amount", required=False),
    F("maf_pay", "医疗救助基金支出", "amount", required=False),
    F("oth_pay", "其他支出", "amount", required=False),
    F("psn_cash_pay", "个人现金支付", "amount", required=False),
    F("refd_setl_flag", "退费结算标志", "code", pad=1, aliases=("退费标志",)),
    F("init_setl_id", "原结算ID", "code", required=False, aliases=("原结算id",)),
    F("gend", "性别", "code", required=False),
    F("age", "年龄", "number", required=False),
), key=("setl_id",), large=True))

_add(Table("setl_list", "医保结算清单与分组结果", True, (
    F("setl_id", "结算ID", "code"),
    F("fixmedins_code", "定点医药机构编号", "code"),
    F("upld_time", "上传时间", "timestamp", aliases=("清单上传时间",)),
    F("qc_stas", "质控状态", "code", pad=1, aliases=("质控结果",)),
    F("qc_errs", "质控问题", required=False),
    F("main_diag_code", "主要诊断编码", "code", aliases=("主要诊断", "主诊断编码")),
    F("other_diag_codes", "其他诊断编码", required=False, aliases=("其他诊断",)),
    F("main_oprn_code", "主要手术操作编码", "code", required=False, aliases=("主要手术操作",)),
    F("drg_code", "DRG编码", "code", required=False, aliases=("DRG病组编码", "DRG组")),
    F("dip_code", "DIP编码", "code", required=False, aliases=("DIP病种编码", "DIP病种")),
    F("grp_stas", "入组状态", "code", pad=1, aliases=("分组状态",)),
    F("setl_way", "结算方式", "code", pad=1),
    F("weight", "权重/分值", "number", required=False, aliases=("权重", "分值", "RW")),
    F("pay_std", "支付标准", "amount", required=False),
    F("ipt_days", "实际住院天数", "int", aliases=("住院天数",)),
    F("dscg_way", "离院方式", "code", pad=1, required=False),
    F("fee_drug", "药品费", "amount", aliases=("药品",)),
    F("fee_mcs", "卫生材料费", "amount", aliases=("卫生材料", "耗材费")),
    F("fee_exam", "检查费", "amount", aliases=("检查",)),
    F("fee_lab", "化验费", "amount", aliases=("化验",)),
    F("fee_trt", "治疗费", "amount", aliases=("治疗",)),
    F("fee_oprn", "手术费", "amount", aliases=("手术",)),
    F("fee_srvc", "服务费", "amount", aliases=("服务/护理/床位费", "护理费")),
    F("fee_oth", "其他费", "amount", aliases=("其他费用",)),
), key=("setl_id",), large=True))

_add(Table("special_case", "特例单议", False, (
    F("setl_id", "结算ID", "code"),
    F("fixmedins_code", "定点医药机构编号", "code"),
    F("apply_date", "申请日期", "date"),
    F("review_result", "审核结果", "code", pad=1),
    F("review_date", "审核日期", "date", required=False),
    F("approved_amt", "审核通过金额", "amount", required=False),
), key=("setl_id",), required_if="DRG/DIP regions"))

_add(Table("settlement_progress", "月度结算拨付", False, (
    F("fixmedins_code", "定点医药机构编号", "code"),
    F("month", "月份", "month"),
    F("declared_amt", "申报金额", "amount"),
    F("refused_amt", "违规扣款/拒付金额", "amount", required=False, aliases=("拒付金额",)),
    F("payable_amt", "应付金额", "amount"),
    F("paid_amt", "实际支付金额", "amount"),
    F("declare_date", "申报日期", "date", required=False),
    F("paid_date", "拨付日期", "date", required=False),
    F("prepaid_amt", "预付金", "amount", required=False),
), key=("fixmedins_code", "month")))

_add(Table("drg_catalog", "DRG分组目录", False, (
    F("poolarea_no", "统筹区编号", "code", pad=6),
    F("drg_code", "DRG编码", "code"),
    F("drg_name", "DRG名称"),
    F("adrg_code", "ADRG编码", "code"),
    F("mdc_code", "MDC编码", "code"),
    F("weight", "权重", "number"),
    F("pay_std", "支付标准", "amount"),
    F("base_group", "基层病组", "code", pad=1),
), key=("poolarea_no", "drg_code"), required_if="DRG regions"))

_add(Table("dip_catalog", "DIP病种目录", False, (
    F("poolarea_no", "统筹区编号", "code", pad=6),
    F("dip_code", "DIP编码", "code"),
    F("dip_name", "DIP名称"),
    F("icd_category", "ICD-10类目", "code"),
    F("score", "分值", "number"),
    F("pay_std", "支付标准", "amount"),
    F("base_group", "基层病组", "code", pad=1),
), key=("poolarea_no", "dip_code"), required_if="DIP regions"))

# ---- optional extensions (documented in data/README.md) ----------------------------------
_add(Table("feedback", "意见反馈", False, (
    F("received_date", "收到日期", "date"),
    F("fixmedins_code", "定点医药机构编号", "code"),
    F("channel", "渠道"),
    F("topic", "主题"),
    F("text", "意见内容"),
    F("status", "处理状态"),
    F("response_date", "答复日期", "date", required=False),
    F("response", "答复内容", required=False),
), note="extension: 意见收集与采纳反馈 (handbook 六(八))"))

_add(Table("workgroup_pool", "数据工作组成员库", False, (
    F("person_id", "人员ID", "code"),
    F("name", "姓名"),
    F("fixmedins_code", "定点医药机构编号", "code"),
    F("title", "职务"),
    F("served_years", "已任年度", required=False),
    F("employer", "工作单位", required=False),  # third-party staff are identified by it (docs/workgroup.md)
), note="extension: 成员库 for the member draw; lives outside the dataset, passed with --pool"))

# ---- optional extensions: annual briefing (docs/annual.md) ---------------------------------
_add(Table("vbp_progress", "集采中选产品采购进度", False, (
    F("fixmedins_code", "定点医药机构编号", "code"),
    F("year", "年度", "int", aliases=("采购年度",)),
    F("item_name", "中选产品名称", aliases=("品种名称", "产品名称", "通用名")),
    F("category", "类别", aliases=("产品类别",)),  # 药品 / 耗材
    F("agreed_qty", "约定采购量", "number", aliases=("协议采购量",)),
    F("purchased_qty", "实际采购量", "number", aliases=("已采购量",)),
    F("batch", "集采批次", required=False, aliases=("批次",)),
    F("unit", "计量单位", required=False, aliases=("单位",)),
    F("selected_use_qty", "中选产品使用量", "number", required=False),
    F("class_use_qty", "同品种使用总量", "number", required=False, aliases=("同品种药品耗材使用总量",)),
), note="extension: 集采中选产品约定采购量完成情况 (handbook 五(一)2 (6)(7); Fujian 第十二条(四))"))

_add(Table("supervision", "基金监管检查", False, (
    F("fixmedins_code", "定点医药机构编号", "code"),
    F("check_date", "检查日期", "date"),
    F("level", "检查层级", aliases=("组织层级",)),  # 国家 / 省 / 市 / 县
    F("check_type", "检查类型", required=False),  # 日常稽核 / 专项检查 / 飞行检查 / 智能监控
    F("issue_count", "发现问题数", "int", aliases=("问题数",)),
    F("refund_amt", "追回医保基金", "amount", aliases=("追回金额", "拒付金额")),
    F("penalty_amt", "违约金及罚款", "amount", required=False, aliases=("罚款金额", "违约金")),
    F("issue_types", "问题类型", required=False),  # ';'-separated
    F("status", "处理状态", required=False),
), note="extension: 日常稽核和监督检查发现的问题 (Fujian 第十二条(五); handbook 二(四))"))

MED_TYPE_OUTPATIENT = ("11", "14", "51")
MED_TYPE_PHARMACY = ("41",)
INSUTYPES = {"310": "职工基本医疗保险", "390": "城乡居民基本医疗保险"}
FUNDS = {"310": "职工医保统筹基金", "310A": "职工医保个人账户", "390": "居民医保基金", "MAF": "城乡医疗救助"}
FUND_ITEMS = {
    "inc_contrib": "征缴收入", "inc_personal": "个人缴费", "inc_sub_central": "中央财政补助",
    "inc_sub_prov": "省级财政补助", "inc_sub_local": "市县级财政补助", "inc_other": "其他收入",
    "exp_total": "基金支出", "exp_assist": "医疗救助支出", "bal_cum": "累计结余",
}
INCOME_ITEMS = ("inc_contrib", "inc_personal", "inc_sub_central", "inc_sub_prov", "inc_sub_local", "inc_other")
HOSP_LV_GROUP = {  # platform hosp_lv code -> level group
    **{c: "三级" for c in ("01", "02", "03", "04")},
    **{c: "二级" for c in ("05", "06", "07")},
    **{c: "一级" for c in ("08", "09", "10")},
    "11": "基层/无等级",
}
LEVEL_ORDER = ("三级", "二级", "一级", "基层/无等级")
SETL_WAY = {"1": "按病组(病种)付费标准结算", "2": "按项目据实结算", "3": "特例单议", "4": "除外/其他"}
BUDGET_ITEMS = {"inpatient": "住院统筹基金总额", "outpatient": "门诊统筹基金总额",
                "drg_dip": "DRG/DIP付费统筹基金总额", "other": "其他"}


def level_group(hosp_lv: str | None) -> str:
    """Level group (三级/二级/一级/基层/无等级) of a platform ``hosp_lv`` code."""
    return HOSP_LV_GROUP.get(str(hosp_lv or "").zfill(2), "基层/无等级")


def level_group_sql(col: str = "hosp_lv") -> str:
    """The same mapping as a SQL CASE expression."""
    return (f"CASE WHEN {col} IN ('01','02','03','04') THEN '三级' "
            f"WHEN {col} IN ('05','06','07') THEN '二级' "
            f"WHEN {col} IN ('08','09','10') THEN '一级' ELSE '基层/无等级' END")


def header_map(table: Table) -> dict[str, str]:
    """Every accepted header (field name, Chinese label, aliases; case-insensitive) -> field name."""
    out: dict[str, str] = {}
    for f in table.fields:
        for h in (f.name, f.zh, *f.aliases):
            out[h.strip().lower()] = f.name
    return out


def is_identifier(header: str) -> bool:
    h = header.strip()
    return h.lower() in IDENTIFIER_COLUMNS or h in IDENTIFIER_ALIASES or h in IDENTIFIER_COLUMNS.values()
