// MEDTalk Live wire protocol, receiver side: the OSC and ZeroMQ decoders (see MEDTalkPacket.h and
// docs/protocol.md).

#include "MEDTalkPacket.h"

#include "MEDTalkJson.h"

#include <cfloat>
#include <cmath>
#include <cstring>

namespace medtalk
{
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
                if (!JsonNumberToDouble(text, value))
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

}  // namespace medtalk
