// Shared by the C++ tests of MEDTalkPacket: reading tests/protocol_vectors/, decoding a vector
// with the decoder its kind names, counting checks.

#pragma once

#include "MEDTalkPacket.h"

#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace medtalk_test
{
using Bytes = std::vector<std::uint8_t>;

// One block of tests/protocol_vectors/expected.txt, with its parts read from disk.
struct Vector
{
    std::string name;
    std::string kind;  // osc_frame, osc_names, zmq_frame, zmq_names
    std::string status;
    std::vector<Bytes> parts;
    std::vector<std::pair<std::string, std::string>> fields;  // in file order

    std::string Field(const std::string& key) const
    {
        for (const auto& kv : fields)
        {
            if (kv.first == key)
            {
                return kv.second;
            }
        }
        return std::string();
    }
};

inline Bytes ReadFile(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
    {
        std::fprintf(stderr, "cannot read %s\n", path.c_str());
        std::exit(2);
    }
    return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline std::vector<Vector> LoadVectors(const std::string& dir)
{
    std::ifstream in(dir + "/expected.txt");
    if (!in)
    {
        std::fprintf(stderr, "cannot read %s/expected.txt\n", dir.c_str());
        std::exit(2);
    }
    std::vector<Vector> vectors;
    std::string line;
    while (std::getline(in, line))
    {
        if (line.empty() || line[0] == '#')
        {
            continue;
        }
        const std::size_t space = line.find(' ');
        const std::string key = line.substr(0, space);
        const std::string value = space == std::string::npos ? std::string() : line.substr(space + 1);
        if (key == "vector")
        {
            vectors.emplace_back();
            vectors.back().name = value;
        }
        else if (vectors.empty() || key == "end")
        {
            continue;
        }
        else if (key == "kind")
        {
            vectors.back().kind = value;
        }
        else if (key == "status")
        {
            vectors.back().status = value;
        }
        else if (key == "part")
        {
            vectors.back().parts.push_back(ReadFile(dir + "/" + value));
        }
        else
        {
            vectors.back().fields.emplace_back(key, value);
        }
    }
    return vectors;
}

// Decodes `parts` with the decoder of `kind`; the frame or the names land in `frame` / `names`.
inline medtalk::Status Decode(const std::string& kind, const std::vector<medtalk::Part>& parts,
                              medtalk::Frame& frame, medtalk::Names& names)
{
    const medtalk::Part* p = parts.empty() ? nullptr : parts.data();
    if (kind == "osc_frame")
    {
        return medtalk::DecodeOscFrame(p ? p->data : nullptr, p ? p->size : 0, frame);
    }
    if (kind == "osc_names")
    {
        return medtalk::DecodeOscNames(p ? p->data : nullptr, p ? p->size : 0, names);
    }
    if (kind == "zmq_frame")
    {
        return medtalk::DecodeZmqFrame(p, parts.size(), frame);
    }
    return medtalk::DecodeZmqNames(p, parts.size(), names);
}

// Parts as exactly sized heap copies, so that AddressSanitizer flags a read past any of them.
struct OwnedParts
{
    std::vector<Bytes> storage;
    std::vector<medtalk::Part> parts;

    explicit OwnedParts(const std::vector<Bytes>& source) : storage(source)
    {
        for (const Bytes& b : storage)
        {
            parts.push_back(medtalk::Part{b.empty() ? nullptr : b.data(), b.size()});
        }
    }
};

inline std::string HexF64(double value)
{
    std::uint64_t bits;
    std::memcpy(&bits, &value, sizeof bits);
    char text[17];
    std::snprintf(text, sizeof text, "%016" PRIx64, bits);
    return text;
}

inline std::string HexF32(float value)
{
    std::uint32_t bits;
    std::memcpy(&bits, &value, sizeof bits);
    char text[9];
    std::snprintf(text, sizeof text, "%08" PRIx32, bits);
    return text;
}

inline std::string HexValues(const float* values)
{
    std::string text;
    for (int k = 0; k < medtalk::kNumControls; ++k)
    {
        text += (k ? " " : "") + HexF32(values[k]);
    }
    return text;
}

// Counts checks; prints each failure with its context.
struct Checker
{
    int passed = 0;
    int failed = 0;

    bool Check(bool ok, const std::string& what)
    {
        if (ok)
        {
            ++passed;
        }
        else
        {
            ++failed;
            std::fprintf(stderr, "FAIL: %s\n", what.c_str());
        }
        return ok;
    }

    template <typename A, typename B>
    bool Equal(const A& actual, const B& expected, const std::string& what)
    {
        std::ostringstream text;
        text << what << ": got '" << actual << "', expected '" << expected << "'";
        return Check(actual == expected, text.str());
    }

    bool Equal(const char* actual, const char* expected, const std::string& what)
    {
        return Equal(std::string(actual), std::string(expected), what);
    }

    int Finish(const char* suite) const
    {
        std::printf("%s: %d passed, %d failed\n", suite, passed, failed);
        return failed == 0 ? 0 : 1;
    }
};
}  // namespace medtalk_test
