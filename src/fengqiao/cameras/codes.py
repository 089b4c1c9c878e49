"""GB/T 28181 device ids (编码规则 A): 20 decimal digits, checked before a camera is stored.

    digits  1-8   centre code: 6-digit administrative division (GB/T 2260) + 2-digit
                  grass-roots unit (00 when the centre is not a grass-roots unit)
            9-10  industry code
            11-13 type code: 111-130 front-end main devices (111 DVR, 112 video server,
                  113 encoder, 114 decoder, 118 NVR ...), 131-199 front-end peripherals
                  (131 camera, 132 IP camera, 133 display ...), 200-299 platform devices
            14    network identifier
            15-20 serial number

Only the two camera types (131 摄像机, 132 网络摄像机) belong in the camera registry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

CODE_LENGTH = 20
CAMERA_TYPES = {"131": ("camera", "摄像机"), "132": ("IP camera", "网络摄像机")}
# Other type codes an integrator's export often holds, named so a refusal says what it is.
OTHER_TYPES = {
    "111": ("DVR", "数字视频录像机"),
    "112": ("video server", "视频服务器"),
    "113": ("encoder", "编码器"),
    "114": ("decoder", "解码器"),
    "115": ("video switching matrix", "视频切换矩阵"),
    "116": ("audio switching matrix", "音频切换矩阵"),
    "117": ("alarm controller", "报警控制器"),
    "118": ("NVR", "网络视频录像机"),
    "133": ("display", "显示器"),
    "134": ("alarm input device", "报警输入设备"),
    "135": ("alarm output device", "报警输出设备"),
    "136": ("audio input device", "语音输入设备"),
    "137": ("audio output device", "语音输出设备"),
    "200": ("central signalling server", "中心信令控制服务器"),
}


@dataclass(frozen=True)
class CodeProblem:
    """Why a code is refused, in English and Chinese."""

    reason: str
    reason_zh: str


def _type_name(type_code: str) -> tuple[str, str]:
    if type_code in OTHER_TYPES:
        return OTHER_TYPES[type_code]
    number = int(type_code)
    if 111 <= number <= 130:
        return "front-end main device", "前端主设备"
    if 131 <= number <= 199:
        return "front-end peripheral", "前端外围设备"
    if 200 <= number <= 299:
        return "platform device", "平台设备"
    if 300 <= number <= 399:
        return "centre user", "中心用户"
    if 400 <= number <= 499:
        return "terminal user", "终端用户"
    return "reserved", "预留"


def check_camera_code(code: str, divisions: Sequence[str] = ()) -> CodeProblem | None:
    """None when `code` is a camera's GB/T 28181 id (in one of `divisions`, when given)."""
    if len(code) != CODE_LENGTH:
        return CodeProblem(
            f"a GB/T 28181 id has 20 digits, this one has {len(code)} characters",
            f"国标编码应为 20 位数字，此编码为 {len(code)} 位",
        )
    if not (code.isascii() and code.isdigit()):
        return CodeProblem("a GB/T 28181 id has only the digits 0-9", "国标编码只能由数字 0-9 组成")
    type_code = code[10:13]
    if type_code not in CAMERA_TYPES:
        name, name_zh = _type_name(type_code)
        return CodeProblem(
            f"type code (digits 11-13) {type_code} means {name}, not a camera: "
            "cameras are 131 (camera) or 132 (IP camera)",
            f"类型编码（第 11-13 位）{type_code} 为{name_zh}，不是摄像机："
            "摄像机应为 131（摄像机）或 132（网络摄像机）",
        )
    if divisions and not any(code.startswith(prefix) for prefix in divisions):
        allowed = ", ".join(divisions)
        return CodeProblem(
            f"centre code {code[:8]} is not in this district's administrative division "
            f"({allowed}): digits 1-6 must be the division code",
            f"中心编码 {code[:8]} 不属于本辖区行政区划（{allowed}）：前 6 位应为区划代码",
        )
    return None


def camera_type(code: str) -> str:
    """The type code's name for a valid camera code: `camera` or `ip_camera`."""
    return "ip_camera" if code[10:13] == "132" else "camera"
