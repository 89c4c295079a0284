// MEDTalk Live wire protocol, receiver side (see MEDTalkPacket.h and docs/protocol.md).

#include "MEDTalkPacket.h"

#include <cerrno>
#include <cfloat>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <system_error>

namespace medtalk
{
const char* const kControlNames[kNumControls] = {
    "CTRL_C_eye-translateX", "CTRL_C_eye-translateY", "CTRL_C_eye_parallelLook-translateY",
    "CTRL_C_jaw-translateX", "CTRL_C_jaw-translateY", "CTRL_C_jaw_fwdBack-translateY",
    "CTRL_C_jaw_openExtreme-translateY", "CTRL_C_mouth-translateX", "CTRL_C_mouth-translateY",
    "CTRL_C_mouth_lipShiftD-translateY", "CTRL_C_mouth_lipShiftU-translateY",
    "CTRL_C_mouth_stickyD-translateY", "CTRL_C_mouth_stickyU-translateY",
    "CTRL_C_neck_swallow-translateY", "CTRL_C_teethD-translateX", "CTRL_C_teethD-translateY",
    "CTRL_C_teethU-translateX", "CTRL_C_teethU-translateY", "CTRL_C_teeth_fwdBackD-translateY",
    "CTRL_C_teeth_fwdBackU-translateY", "CTRL_C_tongue-translateX", "CTRL_C_tongue-translateY",
    "CTRL_C_tongue_inOut-translateY", "CTRL_C_tongue_narrowWide-translateY",
    "CTRL_C_tongue_press-translateY", "CTRL_C_tongue_roll-translateX",
    "CTRL_C_tongue_roll-translateY", "CTRL_C_tongue_tip-translateX",
    "CTRL_C_tongue_tip-translateY", "CTRL_L_brow_down-translateY",
    "CTRL_L_brow_lateral-translateY", "CTRL_L_brow_raiseIn-translateY",
    "CTRL_L_brow_raiseOut-translateY", "CTRL_L_ear_up-translateY", "CTRL_L_eye-translateX",
    "CTRL_L_eye-translateY", "CTRL_L_eye_blink-translateY", "CTRL_L_eye_cheekRaise-translateY",
    "CTRL_L_eye_eyelidD-translateY", "CTRL_L_eye_eyelidU-translateY",
    "CTRL_L_eye_faceScrunch-translateY", "CTRL_L_eye_lidPress-translateY",
    "CTRL_L_eye_pupil-translateY", "CTRL_L_eye_squintInner-translateY",
    "CTRL_L_eyelashes_tweakerIn-translateY", "CTRL_L_eyelashes_tweakerOut-translateY",
    "CTRL_L_jaw_ChinRaiseD-translateY", "CTRL_L_jaw_ChinRaiseU-translateY",
    "CTRL_L_jaw_chinCompress-translateY", "CTRL_L_jaw_clench-translateY",
    "CTRL_L_mouth_corner-translateX", "CTRL_L_mouth_corner-translateY",
    "CTRL_L_mouth_cornerDepress-translateY", "CTRL_L_mouth_cornerPull-translateY",
    "CTRL_L_mouth_cornerSharpnessD-translateY", "CTRL_L_mouth_cornerSharpnessU-translateY",
    "CTRL_L_mouth_dimple-translateY", "CTRL_L_mouth_funnelD-translateY",
    "CTRL_L_mouth_funnelU-translateY", "CTRL_L_mouth_lipBiteD-translateY",
    "CTRL_L_mouth_lipBiteU-translateY", "CTRL_L_mouth_lipSticky-translateY",
    "CTRL_L_mouth_lipsBlow-translateY", "CTRL_L_mouth_lipsPressU-translateY",
    "CTRL_L_mouth_lipsRollD-translateY", "CTRL_L_mouth_lipsRollU-translateY",
    "CTRL_L_mouth_lipsTogetherD-translateY", "CTRL_L_mouth_lipsTogetherU-translateY",
    "CTRL_L_mouth_lipsTowardsTeethD-translateY", "CTRL_L_mouth_lipsTowardsTeethU-translateY",
    "CTRL_L_mouth_lowerLipDepress-translateY", "CTRL_L_mouth_pressD-translateY",
    "CTRL_L_mouth_pressU-translateY", "CTRL_L_mouth_purseD-translateY",
    "CTRL_L_mouth_purseU-translateY", "CTRL_L_mouth_pushPullD-translateY",
    "CTRL_L_mouth_pushPullU-translateY", "CTRL_L_mouth_sharpCornerPull-translateY",
    "CTRL_L_mouth_stickyInnerD-translateY", "CTRL_L_mouth_stickyInnerU-translateY",
    "CTRL_L_mouth_stickyOuterD-translateY", "CTRL_L_mouth_stickyOuterU-translateY",
    "CTRL_L_mouth_stretch-translateY", "CTRL_L_mouth_stretchLipsClose-translateY",
    "CTRL_L_mouth_suckBlow-translateY", "CTRL_L_mouth_thicknessD-translateY",
    "CTRL_L_mouth_thicknessU-translateY", "CTRL_L_mouth_tightenD-translateY",
    "CTRL_L_mouth_tightenU-translateY", "CTRL_L_mouth_towardsD-translateY",
    "CTRL_L_mouth_towardsU-translateY", "CTRL_L_mouth_upperLipRaise-translateY",
    "CTRL_L_neck_mastoidContract-translateY", "CTRL_L_neck_stretch-translateY",
    "CTRL_L_nose-translateX", "CTRL_L_nose-translateY", "CTRL_L_nose_nasolabialDeepen-translateY",
    "CTRL_L_nose_wrinkleUpper-translateY", "CTRL_R_brow_down-translateY",
    "CTRL_R_brow_lateral-translateY", "CTRL_R_brow_raiseIn-translateY",
    "CTRL_R_brow_raiseOut-translateY", "CTRL_R_ear_up-translateY", "CTRL_R_eye-translateX",
    "CTRL_R_eye-translateY", "CTRL_R_eye_blink-translateY", "CTRL_R_eye_cheekRaise-translateY",
    "CTRL_R_eye_eyelidD-translateY", "CTRL_R_eye_eyelidU-translateY",
    "CTRL_R_eye_faceScrunch-translateY", "CTRL_R_eye_lidPress-translateY",
    "CTRL_R_eye_pupil-translateY", "CTRL_R_eye_squintInner-translateY",
    "CTRL_R_eyelashes_tweakerIn-translateY", "CTRL_R_eyelashes_tweakerOut-translateY",
    "CTRL_R_jaw_ChinRaiseD-translateY", "CTRL_R_jaw_ChinRaiseU-translateY",
    "CTRL_R_jaw_chinCompress-translateY", "CTRL_R_jaw_clench-translateY",
    "CTRL_R_mouth_corner-translateX", "CTRL_R_mouth_corner-translateY",
    "CTRL_R_mouth_cornerDepress-translateY", "CTRL_R_mouth_cornerPull-translateY",
    "CTRL_R_mouth_cornerSharpnessD-translateY", "CTRL_R_mouth_cornerSharpnessU-translateY",
    "CTRL_R_mouth_dimple-translateY", "CTRL_R_mouth_funnelD-translateY",
    "CTRL_R_mouth_funnelU-translateY", "CTRL_R_mouth_lipBiteD-translateY",
    "CTRL_R_mouth_lipBiteU-translateY", "CTRL_R_mouth_lipSticky-translateY",
    "CTRL_R_mouth_lipsBlow-translateY", "CTRL_R_mouth_lipsPressU-translateY",
    "CTRL_R_mouth_lipsRollD-translateY", "CTRL_R_mouth_lipsRollU-translateY",
    "CTRL_R_mouth_lipsTogetherD-translateY", "CTRL_R_mouth_lipsTogetherU-translateY",
    "CTRL_R_mouth_lipsTowardsTeethD-translateY", "CTRL_R_mouth_lipsTowardsTeethU-translateY",
    "CTRL_R_mouth_lowerLipDepress-translateY", "CTRL_R_mouth_pressD-translateY",
    "CTRL_R_mouth_pressU-translateY", "CTRL_R_mouth_purseD-translateY",
    "CTRL_R_mouth_purseU-translateY", "CTRL_R_mouth_pushPullD-translateY",
    "CTRL_R_mouth_pushPullU-translateY", "CTRL_R_mouth_sharpCornerPull-translateY",
    "CTRL_R_mouth_stickyInnerD-translateY", "CTRL_R_mouth_stickyInnerU-translateY",
    "CTRL_R_mouth_stickyOuterD-translateY", "CTRL_R_mouth_stickyOuterU-translateY",
    "CTRL_R_mouth_stretch-translateY", "CTRL_R_mouth_stretchLipsClose-translateY",
    "CTRL_R_mouth_suckBlow-translateY", "CTRL_R_mouth_thicknessD-translateY",
    "CTRL_R_mouth_thicknessU-translateY", "CTRL_R_mouth_tightenD-translateY",
    "CTRL_R_mouth_tightenU-translateY", "CTRL_R_mouth_towardsD-translateY",
    "CTRL_R_mouth_towardsU-translateY", "CTRL_R_mouth_upperLipRaise-translateY",
    "CTRL_R_neck_mastoidContract-translateY", "CTRL_R_neck_stretch-translateY",
    "CTRL_R_nose-translateX", "CTRL_R_nose-translateY", "CTRL_R_nose_nasolabialDeepen-translateY",
    "CTRL_R_nose_wrinkleUpper-translateY", "CTRL_lookAtSwitch-translateY",
    "CTRL_neckCorrectivesMultiplyerD-translateY", "CTRL_neckCorrectivesMultiplyerM-translateY",
    "CTRL_neckCorrectivesMultiplyerU-translateY", "CTRL_neck_digastricUpDown-translateY",
    "CTRL_neck_throatExhaleInhale-translateY", "CTRL_neck_throatUpDown-translateY"
};

// Helpers live in a named namespace (not an anonymous one) so that Unreal's unity builds, which
// paste several .cpp files together, cannot collide with them.
namespace packet_detail
{
constexpr std::size_t kAddressBytes = 16;
constexpr std::size_t kTagsBytes = 180;
constexpr std::size_t kSubjectOffset = kAddressBytes + kTagsBytes;  // 196
constexpr char kFrameAddress[kAddressBytes] = "/medtalk/frame";     // + 2 NUL
constexpr char kNamesAddress[kAddressBytes] = "/medtalk/names";     // + 2 NUL

std::uint32_t LoadBe32(const std::uint8_t* p)
{
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8)
        | std::uint32_t{p[3]};
}

std::uint64_t LoadBe64(const std::uint8_t* p)
{
    return (std::uint64_t{LoadBe32(p)} << 32) | std::uint64_t{LoadBe32(p + 4)};
}

std::uint32_t LoadLe32(const std::uint8_t* p)
{
    return std::uint32_t{p[0]} | (std::uint32_t{p[1]} << 8) | (std::uint32_t{p[2]} << 16)
        | (std::uint32_t{p[3]} << 24);
}

float FloatFromBits(std::uint32_t bits)
{
    float value;
    std::memcpy(&value, &bits, sizeof value);
    return value;
}

double DoubleFromBits(std::uint64_t bits)
{
    double value;
    std::memcpy(&value, &bits, sizeof value);
    return value;
}

bool IsPrintableAscii(unsigned char c)
{
    return c >= 0x20 && c <= 0x7e;
}

bool IsPrintableText(const std::string& text, std::size_t max_len)
{
    if (text.empty() || text.size() > max_len)
    {
        return false;
    }
    for (const char c : text)
    {
        if (!IsPrintableAscii(static_cast<unsigned char>(c)))
        {
            return false;
        }
    }
    return true;
}

// Type tag string at data[16..196): `head` (",sid" or ",s"), then 174 times `fill`, then NUL
// padding.
bool TypeTagsMatch(const std::uint8_t* tags, const char* head, char fill)
{
    const std::size_t head_len = std::strlen(head);
    const std::size_t count = head_len + kNumControls;
    for (std::size_t i = 0; i < kTagsBytes; ++i)
    {
        const char expected = i < head_len ? head[i] : (i < count ? fill : '\0');
        if (tags[i] != static_cast<std::uint8_t>(expected))
        {
            return false;
        }
    }
    return true;
}

// The OSC string at `offset`: 1..max_len printable ASCII characters, NUL, NUL padding to a
// multiple of 4. Sets `after` to the offset following the padding.
Status ReadOscString(const std::uint8_t* data, std::size_t size, std::size_t offset,
                     std::size_t max_len, std::string& text, std::size_t& after)
{
    if (offset >= size)
    {
        return Status::Truncated;
    }
    const std::size_t limit = (size - offset > max_len + 1) ? offset + max_len + 1 : size;
    std::size_t end = offset;
    while (end < limit && data[end] != 0)
    {
        if (!IsPrintableAscii(data[end]))
        {
            return Status::BadString;
        }
        ++end;
    }
    if (end == limit)
    {
        return limit == size ? Status::Truncated : Status::BadString;  // no NUL
    }
    const std::size_t length = end - offset;
    if (length == 0)
    {
        return Status::BadString;
    }
    const std::size_t padded = 4 * (length / 4 + 1);
    if (padded > size - offset)
    {
        return Status::Truncated;
    }
    for (std::size_t i = end; i < offset + padded; ++i)
    {
        if (data[i] != 0)
        {
            return Status::BadPadding;
        }
    }
    text.assign(reinterpret_cast<const char*>(data + offset), length);
    after = offset + padded;
    return Status::Ok;
}

Status ReadSubject(const std::uint8_t* data, std::size_t size, std::string& subject,
                   std::size_t& after)
{
    const Status status = ReadOscString(data, size, kSubjectOffset, kSubjectMax, subject, after);
    return (status == Status::Ok || status == Status::BadPadding) ? status : Status::BadSubject;
}

// A strict reader of RFC 8259 JSON restricted to ASCII bytes, for the ZeroMQ header and names.
class JsonReader
{
public:
    JsonReader(const std::uint8_t* data, std::size_t size) : cur_(data), end_(data + size) {}

    void SkipSpace()
    {
        while (cur_ != end_ && (*cur_ == ' ' || *cur_ == '\t' || *cur_ == '\n' || *cur_ == '\r'))
        {
            ++cur_;
        }
    }

    // The next significant character, or -1 at the end.
    int Peek()
    {
        SkipSpace();
        return cur_ == end_ ? -1 : *cur_;
    }

    bool Eat(char c)
    {
        if (Peek() == static_cast<unsigned char>(c))
        {
            ++cur_;
            return true;
        }
        return false;
    }

    bool AtEnd() { return Peek() == -1; }

    // A string, decoded to UTF-8 into `out` (nullptr: validate and skip).
    bool String(std::string* out)
    {
        if (!Eat('"'))
        {
            return false;
        }
        while (cur_ != end_)
        {
            const std::uint8_t c = *cur_++;
            if (c == '"')
            {
                return true;
            }
            if (c < 0x20 || c >= 0x80)
            {
                return false;  // raw control character, or a non-ASCII byte
            }
            if (c != '\\')
            {
                Append(out, c);
                continue;
            }
            if (cur_ == end_)
            {
                return false;
            }
            const std::uint8_t e = *cur_++;
            switch (e)
            {
                case '"': case '\\': case '/': Append(out, e); break;
                case 'b': Append(out, '\b'); break;
                case 'f': Append(out, '\f'); break;
                case 'n': Append(out, '\n'); break;
                case 'r': Append(out, '\r'); break;
                case 't': Append(out, '\t'); break;
                case 'u':
                {
                    std::uint32_t code = 0;
                    if (!Hex4(code))
                    {
                        return false;
                    }
                    if (code >= 0xDC00 && code <= 0xDFFF)
                    {
                        return false;  // lone low surrogate
                    }
                    if (code >= 0xD800 && code <= 0xDBFF)
                    {
                        std::uint32_t low = 0;
                        if (end_ - cur_ < 2 || cur_[0] != '\\' || cur_[1] != 'u')
                        {
                            return false;
                        }
                        cur_ += 2;
                        if (!Hex4(low) || low < 0xDC00 || low > 0xDFFF)
                        {
                            return false;
                        }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
                    }
                    AppendUtf8(out, code);
                    break;
                }
                default: return false;
            }
        }
        return false;  // unterminated
    }

    // A number token; `text` receives its characters, `integer` whether it has no fraction and
    // no exponent.
    bool Number(std::string& text, bool& integer)
    {
        SkipSpace();
        const std::uint8_t* start = cur_;
        integer = true;
        if (cur_ != end_ && *cur_ == '-')
        {
            ++cur_;
        }
        if (cur_ == end_ || !IsDigit(*cur_))
        {
            return false;
        }
        if (*cur_ == '0')
        {
            ++cur_;
        }
        else
        {
            SkipDigits();
        }
        if (cur_ != end_ && *cur_ == '.')
        {
            integer = false;
            ++cur_;
            if (cur_ == end_ || !IsDigit(*cur_))
            {
                return false;
            }
            SkipDigits();
        }
        if (cur_ != end_ && (*cur_ == 'e' || *cur_ == 'E'))
        {
            integer = false;
            ++cur_;
            if (cur_ != end_ && (*cur_ == '+' || *cur_ == '-'))
            {
                ++cur_;
            }
            if (cur_ == end_ || !IsDigit(*cur_))
            {
                return false;
            }
            SkipDigits();
        }
        text.assign(reinterpret_cast<const char*>(start), static_cast<std::size_t>(cur_ - start));
        return true;
    }

    // Any value, validated and skipped.
    bool SkipValue(int depth)
    {
        if (depth > kJsonMaxDepth)
        {
            return false;
        }
        const int c = Peek();
        if (c == '"')
        {
            return String(nullptr);
        }
        if (c == '{')
        {
            ++cur_;
            if (Eat('}'))
            {
                return true;
            }
            do
            {
                if (!String(nullptr) || !Eat(':') || !SkipValue(depth + 1))
                {
                    return false;
                }
            } while (Eat(','));
            return Eat('}');
        }
        if (c == '[')
        {
            ++cur_;
            if (Eat(']'))
            {
                return true;
            }
            do
            {
                if (!SkipValue(depth + 1))
                {
                    return false;
                }
            } while (Eat(','));
            return Eat(']');
        }
        if (c == 't')
        {
            return Literal("true");
        }
        if (c == 'f')
        {
            return Literal("false");
        }
        if (c == 'n')
        {
            return Literal("null");
        }
        std::string text;
        bool integer = false;
        return Number(text, integer);
    }

private:
    static bool IsDigit(std::uint8_t c) { return c >= '0' && c <= '9'; }

    void SkipDigits()
    {
        while (cur_ != end_ && IsDigit(*cur_))
        {
            ++cur_;
        }
    }

    bool Literal(const char* word)
    {
        const std::size_t n = std::strlen(word);
        if (static_cast<std::size_t>(end_ - cur_) < n || std::memcmp(cur_, word, n) != 0)
        {
            return false;
        }
        cur_ += n;
        return true;
    }

    bool Hex4(std::uint32_t& code)
    {
        if (end_ - cur_ < 4)
        {
            return false;
        }
        code = 0;
        for (int i = 0; i < 4; ++i)
        {
            const std::uint8_t h = *cur_++;
            std::uint32_t digit;
            if (h >= '0' && h <= '9') digit = static_cast<std::uint32_t>(h - '0');
            else if (h >= 'a' && h <= 'f') digit = static_cast<std::uint32_t>(h - 'a' + 10);
            else if (h >= 'A' && h <= 'F') digit = static_cast<std::uint32_t>(h - 'A' + 10);
            else return false;
            code = (code << 4) | digit;
        }
        return true;
    }

    static void Append(std::string* out, std::uint8_t c)
    {
        if (out != nullptr)
        {
            out->push_back(static_cast<char>(c));
        }
    }

    static void AppendUtf8(std::string* out, std::uint32_t code)
    {
        if (code < 0x80)
        {
            Append(out, static_cast<std::uint8_t>(code));
        }
        else if (code < 0x800)
        {
            Append(out, static_cast<std::uint8_t>(0xC0 | (code >> 6)));
            Append(out, static_cast<std::uint8_t>(0x80 | (code & 0x3F)));
        }
        else if (code < 0x10000)
        {
            Append(out, static_cast<std::uint8_t>(0xE0 | (code >> 12)));
            Append(out, static_cast<std::uint8_t>(0x80 | ((code >> 6) & 0x3F)));
            Append(out, static_cast<std::uint8_t>(0x80 | (code & 0x3F)));
        }
        else
        {
            Append(out, static_cast<std::uint8_t>(0xF0 | (code >> 18)));
            Append(out, static_cast<std::uint8_t>(0x80 | ((code >> 12) & 0x3F)));
            Append(out, static_cast<std::uint8_t>(0x80 | ((code >> 6) & 0x3F)));
            Append(out, static_cast<std::uint8_t>(0x80 | (code & 0x3F)));
        }
    }

    const std::uint8_t* cur_;
    const std::uint8_t* end_;
};

// Converts a JSON number token to the nearest double: std::from_chars where the standard library
// has it for floating point (libstdc++ 11+, MSVC 2019+); otherwise strtod, which is correctly
// rounded on the platforms Unreal supports but reads the decimal point of the current C locale
// (Unreal leaves it at "C"). MEDTALK_NO_FROM_CHARS forces strtod (run.sh tests both).
bool ToDouble(const std::string& text, double& value)
{
#if defined(__cpp_lib_to_chars) && __cpp_lib_to_chars >= 201611L && !defined(MEDTALK_NO_FROM_CHARS)
    const char* first = text.data();
    const char* last = first + text.size();
    const std::from_chars_result result = std::from_chars(first, last, value);
    return result.ec == std::errc() && result.ptr == last && std::isfinite(value);
#else
    char* end = nullptr;
    errno = 0;
    value = std::strtod(text.c_str(), &end);
    return errno == 0 && end == text.c_str() + text.size() && std::isfinite(value);
#endif
}

// A JSON integer token (no fraction, no exponent) in [0, 2^31 - 1].
Status ToIndex(const std::string& text, bool integer, std::int32_t& index)
{
    if (!integer)
    {
        return Status::WrongFieldType;
    }
    const bool negative = text[0] == '-';
    std::uint64_t value = 0;
    for (std::size_t i = negative ? 1 : 0; i < text.size(); ++i)
    {
        value = value * 10 + static_cast<std::uint64_t>(text[i] - '0');
        if (value > 0x7fffffffu)
        {
            return negative ? Status::NegativeIndex : Status::WrongFieldType;
        }
    }
    if (negative && value != 0)
    {
        return Status::NegativeIndex;
    }
    index = static_cast<std::int32_t>(value);
    return Status::Ok;
}

bool PartIs(const Part& part, const char* text)
{
    const std::size_t n = std::strlen(text);
    return part.size == n && (n == 0 || (part.data != nullptr && std::memcmp(part.data, text, n) == 0));
}

// The ZeroMQ frame header: a JSON object with at least subject, frame, t, t0, emotion and
// intensity; other fields are validated as JSON and ignored.
Status ParseHeader(const Part& header, Frame& frame)
{
    if (header.size > kZmqHeaderMaxBytes)
    {
        return Status::Oversized;
    }
    JsonReader json(header.data, header.size);
    if (header.data == nullptr || !json.Eat('{'))
    {
        return Status::BadJson;
    }
    enum Field { kSubject, kFrame, kT, kT0, kEmotion, kIntensity, kFieldCount };
    static const char* const kFieldNames[kFieldCount] = {"subject", "frame", "t", "t0", "emotion",
                                                         "intensity"};
    bool seen[kFieldCount] = {};
    bool bad_field_type = false;
    double intensity = 0.0;
    if (!json.Eat('}'))
    {
        do
        {
            std::string key;
            if (!json.String(&key) || !json.Eat(':'))
            {
                return Status::BadJson;
            }
            int field = 0;
            while (field < kFieldCount && key != kFieldNames[field])
            {
                ++field;
            }
            if (field == kFieldCount)
            {
                if (!json.SkipValue(1))
                {
                    return Status::BadJson;
                }
                continue;
            }
            if (seen[field])
            {
                return Status::DuplicateField;
            }
            seen[field] = true;
            const int next = json.Peek();
            const bool is_string = next == '"';
            const bool is_number = next == '-' || (next >= '0' && next <= '9');
            if (field == kSubject || field == kEmotion)
            {
                if (!is_string)
                {
                    bad_field_type = true;
                    if (!json.SkipValue(1)) return Status::BadJson;
                    continue;
                }
                std::string& text = field == kSubject ? frame.subject : frame.emotion;
                if (!json.String(&text))
                {
                    return Status::BadJson;
                }
                continue;
            }
            if (!is_number)
            {
                bad_field_type = true;
                if (!json.SkipValue(1)) return Status::BadJson;
                continue;
            }
            std::string text;
            bool integer = false;
            if (!json.Number(text, integer))
            {
                return Status::BadJson;
            }
            if (field == kFrame)
            {
                const Status status = ToIndex(text, integer, frame.index);
                if (status != Status::Ok)
                {
                    return status;
                }
            }
            else
            {
                double value = 0.0;
                if (!ToDouble(text, value))
                {
                    return field == kIntensity ? Status::NonFiniteValue : Status::NonFiniteTime;
                }
                (field == kT ? frame.time : field == kT0 ? frame.t0 : intensity) = value;
            }
        } while (json.Eat(','));
        if (!json.Eat('}'))
        {
            return Status::BadJson;
        }
    }
    if (!json.AtEnd())
    {
        return Status::BadJson;
    }
    for (const bool present : seen)
    {
        if (!present)
        {
            return Status::MissingField;
        }
    }
    if (bad_field_type)
    {
        return Status::WrongFieldType;
    }
    if (!IsPrintableText(frame.subject, kSubjectMax))
    {
        return Status::BadSubject;
    }
    if (!IsPrintableText(frame.emotion, 32))
    {
        return Status::WrongFieldType;
    }
    if (std::fabs(intensity) > static_cast<double>(FLT_MAX))
    {
        return Status::NonFiniteValue;  // would be infinite as float32 (and the cast undefined)
    }
    frame.intensity = static_cast<float>(intensity);
    return Status::Ok;
}

std::string Trim(const std::string& text)
{
    const std::size_t first = text.find_first_not_of(" \t");
    if (first == std::string::npos)
    {
        return std::string();
    }
    const std::size_t last = text.find_last_not_of(" \t");
    return text.substr(first, last - first + 1);
}

bool IsDottedIpv4(const std::string& text)
{
    int parts = 0;
    std::size_t i = 0;
    while (i <= text.size())
    {
        std::size_t digits = 0;
        int value = 0;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9' && digits < 4)
        {
            value = value * 10 + (text[i] - '0');
            ++digits;
            ++i;
        }
        if (digits == 0 || digits > 3 || value > 255)
        {
            return false;
        }
        ++parts;
        if (i == text.size())
        {
            break;
        }
        if (text[i] != '.')
        {
            return false;
        }
        ++i;
    }
    return parts == 4;
}
}  // namespace packet_detail

using namespace packet_detail;

const char* StatusName(Status status)
{
    switch (status)
    {
        case Status::Ok: return "Ok";
        case Status::Truncated: return "Truncated";
        case Status::Oversized: return "Oversized";
        case Status::WrongAddress: return "WrongAddress";
        case Status::WrongTypeTags: return "WrongTypeTags";
        case Status::BadSubject: return "BadSubject";
        case Status::BadString: return "BadString";
        case Status::BadPadding: return "BadPadding";
        case Status::WrongSize: return "WrongSize";
        case Status::NegativeIndex: return "NegativeIndex";
        case Status::NonFiniteTime: return "NonFiniteTime";
        case Status::NonFiniteValue: return "NonFiniteValue";
        case Status::TrailingBytes: return "TrailingBytes";
        case Status::WrongPartCount: return "WrongPartCount";
        case Status::WrongTopic: return "WrongTopic";
        case Status::BadJson: return "BadJson";
        case Status::MissingField: return "MissingField";
        case Status::WrongFieldType: return "WrongFieldType";
        case Status::DuplicateField: return "DuplicateField";
        case Status::BadValuesSize: return "BadValuesSize";
        case Status::BadNames: return "BadNames";
    }
    return "Unknown";
}

OscKind ClassifyOsc(const std::uint8_t* data, std::size_t size)
{
    if (data == nullptr || size < kAddressBytes)
    {
        return OscKind::Unknown;
    }
    if (std::memcmp(data, kFrameAddress, kAddressBytes) == 0)
    {
        return OscKind::Frame;
    }
    if (std::memcmp(data, kNamesAddress, kAddressBytes) == 0)
    {
        return OscKind::Names;
    }
    return OscKind::Unknown;
}

Status DecodeOscFrame(const std::uint8_t* data, std::size_t size, Frame& out)
{
    if (data == nullptr || size < kOscFrameMinBytes)
    {
        return Status::Truncated;
    }
    if (size > kOscFrameMaxBytes)
    {
        return Status::Oversized;
    }
    if (std::memcmp(data, kFrameAddress, kAddressBytes) != 0)
    {
        return Status::WrongAddress;
    }
    if (!TypeTagsMatch(data + kAddressBytes, ",sid", 'f'))
    {
        return Status::WrongTypeTags;
    }
    std::string subject;
    std::size_t offset = 0;
    const Status status = ReadSubject(data, size, subject, offset);
    if (status != Status::Ok)
    {
        return status;
    }
    if (size != offset + 12 + kValuesBytes)
    {
        return Status::WrongSize;
    }
    const std::uint32_t raw_index = LoadBe32(data + offset);
    if ((raw_index & 0x80000000u) != 0)
    {
        return Status::NegativeIndex;
    }
    const double time = DoubleFromBits(LoadBe64(data + offset + 4));
    if (!std::isfinite(time))
    {
        return Status::NonFiniteTime;
    }
    float values[kNumControls];
    const std::uint8_t* raw = data + offset + 12;
    for (int k = 0; k < kNumControls; ++k)
    {
        values[k] = FloatFromBits(LoadBe32(raw + 4 * k));
        if (!std::isfinite(values[k]))
        {
            return Status::NonFiniteValue;
        }
    }
    out.subject = std::move(subject);
    out.index = static_cast<std::int32_t>(raw_index);
    out.time = time;
    std::memcpy(out.values, values, sizeof values);
    out.t0 = 0.0;
    out.emotion.clear();
    out.intensity = 0.0f;
    return Status::Ok;
}

Status DecodeOscNames(const std::uint8_t* data, std::size_t size, Names& out)
{
    if (data == nullptr || size < kOscNamesMinBytes)
    {
        return Status::Truncated;
    }
    if (size > kOscNamesMaxBytes)
    {
        return Status::Oversized;
    }
    if (std::memcmp(data, kNamesAddress, kAddressBytes) != 0)
    {
        return Status::WrongAddress;
    }
    if (!TypeTagsMatch(data + kAddressBytes, ",s", 's'))
    {
        return Status::WrongTypeTags;
    }
    Names names;
    std::size_t offset = 0;
    const Status subject_status = ReadSubject(data, size, names.subject, offset);
    if (subject_status != Status::Ok)
    {
        return subject_status;
    }
    names.names.resize(kNumControls);
    for (std::string& name : names.names)
    {
        const Status status = ReadOscString(data, size, offset, kNameMax, name, offset);
        if (status != Status::Ok)
        {
            return status;
        }
    }
    if (offset != size)
    {
        return Status::TrailingBytes;
    }
    out = std::move(names);
    return Status::Ok;
}

Status DecodeZmqFrame(const Part* parts, std::size_t count, Frame& out)
{
    if (parts == nullptr || count != 3)
    {
        return Status::WrongPartCount;
    }
    if (!PartIs(parts[0], "frame"))
    {
        return Status::WrongTopic;
    }
    Frame frame;
    const Status status = ParseHeader(parts[1], frame);
    if (status != Status::Ok)
    {
        return status;
    }
    if (parts[2].size != kValuesBytes || parts[2].data == nullptr)
    {
        return Status::BadValuesSize;
    }
    for (int k = 0; k < kNumControls; ++k)
    {
        frame.values[k] = FloatFromBits(LoadLe32(parts[2].data + 4 * k));
        if (!std::isfinite(frame.values[k]))
        {
            return Status::NonFiniteValue;
        }
    }
    out = std::move(frame);
    return Status::Ok;
}

Status DecodeZmqNames(const Part* parts, std::size_t count, Names& out)
{
    if (parts == nullptr || count != 2)
    {
        return Status::WrongPartCount;
    }
    if (!PartIs(parts[0], "names"))
    {
        return Status::WrongTopic;
    }
    if (parts[1].size > kZmqNamesMaxBytes)
    {
        return Status::Oversized;
    }
    JsonReader json(parts[1].data, parts[1].size);
    if (parts[1].data == nullptr || !json.Eat('['))
    {
        return Status::BadJson;
    }
    Names names;
    if (!json.Eat(']'))
    {
        do
        {
            if (json.Peek() != '"')
            {
                return json.SkipValue(1) ? Status::WrongFieldType : Status::BadJson;
            }
            if (names.names.size() > static_cast<std::size_t>(kNumControls))
            {
                return Status::BadNames;
            }
            names.names.emplace_back();
            if (!json.String(&names.names.back()))
            {
                return Status::BadJson;
            }
        } while (json.Eat(','));
        if (!json.Eat(']'))
        {
            return Status::BadJson;
        }
    }
    if (!json.AtEnd())
    {
        return Status::BadJson;
    }
    if (names.names.size() != static_cast<std::size_t>(kNumControls))
    {
        return Status::BadNames;
    }
    for (const std::string& name : names.names)
    {
        if (!IsPrintableText(name, kNameMax))
        {
            return Status::BadString;
        }
    }
    out = std::move(names);
    return Status::Ok;
}

bool ParseConnectionString(const std::string& text, ReceiverConfig& out, std::string& error)
{
    ReceiverConfig config;
    std::size_t start = 0;
    while (start <= text.size())
    {
        std::size_t end = text.find(';', start);
        if (end == std::string::npos)
        {
            end = text.size();
        }
        const std::string item = Trim(text.substr(start, end - start));
        start = end + 1;
        if (item.empty())
        {
            continue;
        }
        const std::size_t eq = item.find('=');
        if (eq == std::string::npos)
        {
            error = "'" + item + "' is not KEY=VALUE";
            return false;
        }
        const std::string key = Trim(item.substr(0, eq));
        const std::string value = Trim(item.substr(eq + 1));
        if (key == "transport")
        {
            if (value != "osc" && value != "zmq")
            {
                error = "transport '" + value + "' is not osc or zmq";
                return false;
            }
            config.transport = value == "osc" ? ReceiverConfig::Transport::Osc
                                              : ReceiverConfig::Transport::Zmq;
        }
        else if (key == "bind")
        {
            if (!IsDottedIpv4(value))
            {
                error = "bind address '" + value + "' is not a dotted IPv4 address";
                return false;
            }
            config.bind = value;
        }
        else if (key == "port")
        {
            long port = 0;
            bool digits = !value.empty() && value.size() <= 5;
            for (const char c : value)
            {
                digits = digits && c >= '0' && c <= '9';
            }
            if (digits)
            {
                port = std::strtol(value.c_str(), nullptr, 10);
            }
            if (!digits || port < 1 || port > 65535)
            {
                error = "port '" + value + "' is not an integer in 1-65535";
                return false;
            }
            config.port = static_cast<int>(port);
        }
        else if (key == "endpoint")
        {
            if ((value.rfind("tcp://", 0) != 0 && value.rfind("ipc://", 0) != 0) || value.size() < 7)
            {
                error = "endpoint '" + value + "' is not tcp://HOST:PORT or ipc://PATH";
                return false;
            }
            config.endpoint = value;
        }
        else if (key == "subject")
        {
            if (!IsPrintableText(value, kSubjectMax))
            {
                error = "subject '" + value + "' is not 1 to 63 printable ASCII characters";
                return false;
            }
            config.subject = value;
        }
        else
        {
            error = "unknown key '" + key + "'";
            return false;
        }
    }
    out = config;
    return true;
}

std::string ToConnectionString(const ReceiverConfig& config)
{
    if (config.transport == ReceiverConfig::Transport::Zmq)
    {
        return "transport=zmq;endpoint=" + config.endpoint + ";subject=" + config.subject;
    }
    return "transport=osc;bind=" + config.bind + ";port=" + std::to_string(config.port)
        + ";subject=" + config.subject;
}

StreamTracker::StreamTracker(double stale_after) : stale_after_s(stale_after)
{
    names_.assign(kControlNames, kControlNames + kNumControls);
}

bool StreamTracker::UpdateNames(const std::vector<std::string>& names)
{
    if (names == names_)
    {
        return false;
    }
    names_ = names;
    static_due_ = true;
    return true;
}

bool StreamTracker::TakeStaticDataDue()
{
    const bool due = static_due_;
    static_due_ = false;
    return due;
}

StreamTracker::Verdict StreamTracker::OnFrame(std::int32_t index, double now_s)
{
    Verdict verdict;
    if (!has_frames_)
    {
        verdict.restarted = true;
    }
    else if (now_s - last_arrival_s_ > kRestartSilenceS || index < last_index_ - kRestartIndexJump)
    {
        verdict.restarted = true;  // the bridge restarted (or the stream paused): a new stream
        ++restarts;
    }
    else if (index > last_index_)
    {
        verdict.lost = static_cast<std::uint32_t>(index - last_index_ - 1);
    }
    else
    {
        ++frames_dropped;  // a duplicate, or a datagram overtaken by a later one
        return verdict;
    }
    verdict.accept = true;
    has_frames_ = true;
    last_index_ = index;
    last_arrival_s_ = now_s;
    ++frames_accepted;
    frames_lost += verdict.lost;
    return verdict;
}

bool StreamTracker::IsStale(double now_s) const
{
    return has_frames_ && now_s - last_arrival_s_ > stale_after_s;
}

}  // namespace medtalk
