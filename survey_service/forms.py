"""Flask-WTF forms (CSRF-protected), grouped by blueprint."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    FloatField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from .models import ROLE_LABELS


# auth
class LoginForm(FlaskForm):
    username = StringField("用户名", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("密码", validators=[DataRequired()])


# units
class UploadForm(FlaskForm):
    file = FileField("名单文件（CSV / XLSX / XLS）", validators=[FileRequired("请选择文件")])
    sheet = StringField("工作表名称（可选）", validators=[Optional(), Length(max=64)])
    # Hand mapping when a header is not recognised: header text, column number or letter.
    phone_column = StringField("电话列（可选）", validators=[Optional(), Length(max=64)])
    name_column = StringField("姓名列（可选）", validators=[Optional(), Length(max=64)])
    service_column = StringField("办理事项列（可选）", validators=[Optional(), Length(max=64)])
    date_column = StringField("办理日期列（可选）", validators=[Optional(), Length(max=64)])
    kind_column = StringField("类型列（可选）", validators=[Optional(), Length(max=64)])


class StaffUploadForm(FlaskForm):
    file = FileField("工作人员电话名单", validators=[FileRequired("请选择文件")])
    sheet = StringField("工作表名称（可选）", validators=[Optional(), Length(max=64)])


# review
class ReviewForm(FlaskForm):
    note = TextAreaField("审核意见（退回时必填）", validators=[Optional(), Length(max=2000)])


# statistics
class DesignForm(FlaskForm):
    mode = SelectField(
        "样本量方式",
        choices=[SelectChoice("margin", "按误差界计算"), SelectChoice("fixed", "每单位固定数量")],
    )
    per_unit = IntegerField(
        "每单位样本量（固定方式）", validators=[Optional(), NumberRange(1, 100000)]
    )
    margin = FloatField(
        "误差界（10分制，±）", default=0.5, validators=[InputRequired(), NumberRange(0.01, 10)]
    )
    sd = FloatField("假定标准差", default=2.0, validators=[InputRequired(), NumberRange(0.01, 10)])
    minimum = IntegerField(
        "最少完成数", default=30, validators=[InputRequired(), NumberRange(1, 10000)]
    )
    response_rate = FloatField(
        "预期应答率", default=0.5, validators=[InputRequired(), NumberRange(0.01, 1)]
    )
    eligibility_rate = FloatField(
        "预期合格率", default=0.9, validators=[InputRequired(), NumberRange(0.01, 1)]
    )
    allocation = SelectField(
        "子层分配",
        choices=[
            SelectChoice("proportional", "按比例"),
            SelectChoice("neyman", "Neyman"),
            SelectChoice("equal", "等量"),
        ],
    )
    by_kind = BooleanField("按服务对象类型（群众/企业）分子层", default=True)
    replicates = IntegerField(
        "首批发放批次数", default=2, validators=[InputRequired(), NumberRange(1, 20)]
    )
    reserve = IntegerField(
        "后备批次数", default=2, validators=[InputRequired(), NumberRange(0, 20)]
    )


class SeedForm(FlaskForm):
    seed = IntegerField("随机种子", validators=[InputRequired(), NumberRange(min=0, max=2**63 - 1)])


class ReleaseForm(FlaskForm):
    units = StringField(
        "单位代码（逗号分隔；留空则为未达目标完成数的全部单位）",
        validators=[Optional(), Length(max=5000)],
    )


# admin
class UserForm(FlaskForm):
    username = StringField("用户名", validators=[DataRequired(), Length(max=64)])
    display_name = StringField("姓名", validators=[Optional(), Length(max=100)])
    password = PasswordField("初始密码", validators=[DataRequired(), Length(min=8)])
    role = SelectField("角色", choices=[SelectChoice(k.value, v) for k, v in ROLE_LABELS.items()])
    unit_code = StringField("所属单位代码（单位填报员）", validators=[Optional(), Length(max=32)])


class UserEditForm(FlaskForm):
    display_name = StringField("姓名", validators=[Optional(), Length(max=100)])
    role = SelectField("角色", choices=[SelectChoice(k.value, v) for k, v in ROLE_LABELS.items()])
    unit_code = StringField("所属单位代码（单位填报员）", validators=[Optional(), Length(max=32)])
    senior = BooleanField("资深访员（拨打软拒样本的拒访转化，仅限话务员）")


class PasswordResetForm(FlaskForm):
    password = PasswordField("新密码", validators=[DataRequired(), Length(min=8)])
