// The strict JSON reader of the ZeroMQ transport (see MEDTalkJson.h).

#include "MEDTalkJson.h"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <system_error>

namespace medtalk
{
bool JsonReader::String(std::string* out)
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

bool JsonReader::Number(std::string& text, bool& integer)
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

bool JsonReader::SkipValue(int depth)
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

void JsonReader::SkipDigits()
{
    while (cur_ != end_ && IsDigit(*cur_))
    {
        ++cur_;
    }
}

bool JsonReader::Literal(const char* word)
{
    const std::size_t n = std::strlen(word);
    if (static_cast<std::size_t>(end_ - cur_) < n || std::memcmp(cur_, word, n) != 0)
    {
        return false;
    }
    cur_ += n;
    return true;
}

bool JsonReader::Hex4(std::uint32_t& code)
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

void JsonReader::Append(std::string* out, std::uint8_t c)
{
    if (out != nullptr)
    {
        out->push_back(static_cast<char>(c));
    }
}

void JsonReader::AppendUtf8(std::string* out, std::uint32_t code)
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

// Converts a JSON number token to the nearest double: std::from_chars where the standard library
// has it for floating point (libstdc++ 11+, MSVC 2019+); otherwise strtod, which is correctly
// rounded on the platforms Unreal supports but reads the decimal point of the current C locale
// (Unreal leaves it at "C"). MEDTALK_NO_FROM_CHARS forces strtod (run.sh tests both).
bool JsonNumberToDouble(const std::string& text, double& value)
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

}  // namespace medtalk
