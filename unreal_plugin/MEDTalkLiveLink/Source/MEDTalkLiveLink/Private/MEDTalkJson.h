// A strict JSON reader for the ZeroMQ frame header and names list (docs/protocol.md).
//
// Plain C++17 with no engine types, like the rest of the receiver code (see MEDTalkPacket.h).
// Reads only inside [data, data + size).

#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace medtalk
{
inline constexpr int kJsonMaxDepth = 16;  // nesting of unknown header fields

// A strict reader of RFC 8259 JSON restricted to ASCII bytes, for the ZeroMQ header and names.
// Each method consumes what it accepts; after a false return the position is unspecified.
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

    // Consumes `c` when it is the next significant character.
    bool Eat(char c)
    {
        if (Peek() == static_cast<unsigned char>(c))
        {
            ++cur_;
            return true;
        }
        return false;
    }

    // Nothing but white space is left.
    bool AtEnd() { return Peek() == -1; }

    // A string, decoded to UTF-8 into `out` (nullptr: validate and skip).
    bool String(std::string* out);

    // A number token; `text` receives its characters, `integer` whether it has no fraction and
    // no exponent.
    bool Number(std::string& text, bool& integer);

    // Any value, validated and skipped; `depth` is its nesting level (1 for a member of the
    // top-level object), at most kJsonMaxDepth.
    bool SkipValue(int depth);

private:
    static bool IsDigit(std::uint8_t c) { return c >= '0' && c <= '9'; }
    void SkipDigits();
    bool Literal(const char* word);
    bool Hex4(std::uint32_t& code);
    static void Append(std::string* out, std::uint8_t c);
    static void AppendUtf8(std::string* out, std::uint32_t code);

    const std::uint8_t* cur_;
    const std::uint8_t* end_;
};

// Converts a JSON number token (as JsonReader::Number returns it) to the nearest double; false
// when it does not fit a finite double.
bool JsonNumberToDouble(const std::string& text, double& value);

}  // namespace medtalk
