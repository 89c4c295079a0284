// MEDTalk Live wire protocol, receiver side: packet decoding and validation (docs/protocol.md).
//
// The receiver code of the plugin is plain C++17 with no engine types: the Unreal plugin compiles
// it as part of its module, and unreal_plugin/tests/run.sh compiles it with g++ (under
// AddressSanitizer and UBSan) against the golden packets that the Python sender writes
// (tests/protocol_vectors/). It is split by concern:
//
//   MEDTalkNames          the 174 built-in control names
//   MEDTalkJson           the strict JSON reader of the ZeroMQ header and names
//   MEDTalkPacket         (this file) the OSC and ZeroMQ decoders
//   MEDTalkConnection     Live Link connection strings: where a receiver listens
//   MEDTalkStreamTracker  a receiver's bookkeeping: names, frame order, restarts, silence
//   MEDTalkReceiver       the receive loop: sockets, decoding, bookkeeping, callbacks
//
// Every decoder reads only inside [data, data + size), never through a misaligned pointer, and
// writes its output only when the packet is valid (Status::Ok).

#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "MEDTalkNames.h"

namespace medtalk
{
inline constexpr int kFps = 60;                      // frames per second of audio time
inline constexpr std::size_t kSubjectMax = 63;       // longest subject, bytes
inline constexpr std::size_t kNameMax = 255;         // longest control name a receiver accepts
inline constexpr std::size_t kValuesBytes = 4 * kNumControls;                 // 696
inline constexpr std::size_t kOscFrameMinBytes = 904 + 4;                     // 1-3 char subject
inline constexpr std::size_t kOscFrameMaxBytes = 904 + 64;                    // 63 char subject
inline constexpr std::size_t kOscNamesMinBytes = 196 + 4 + 4 * kNumControls;  // 896
inline constexpr std::size_t kOscNamesMaxBytes = 196 + 64 + (kNameMax + 1) * kNumControls;
inline constexpr std::size_t kDatagramBytes = 65536;     // receive buffer: any UDP datagram fits
inline constexpr std::size_t kZmqHeaderMaxBytes = 65536; // a frame header is 120 bytes or more
inline constexpr std::size_t kZmqNamesMaxBytes = 65536;  // the names list is 6072 bytes

// Why a packet was rejected; Ok when it was accepted.
enum class Status
{
    Ok,
    Truncated,       // shorter than the smallest valid packet, or a string runs past the end
    Oversized,       // longer than the largest valid packet
    WrongAddress,    // not /medtalk/frame (or /medtalk/names)
    WrongTypeTags,   // type tag string differs from ",sid"+174 "f" (or ",s"+174 "s")
    BadSubject,      // subject empty, longer than 63, not printable ASCII, or no NUL in 64 bytes
    BadString,       // a control name empty, longer than 255 or not printable ASCII
    BadPadding,      // a string's padding bytes are not NUL
    WrongSize,       // size is not 904 + S for the subject's padded size S
    NegativeIndex,   // frame index below 0
    NonFiniteTime,   // t (or t0) is NaN or infinite
    NonFiniteValue,  // a value (or the intensity) is NaN or infinite
    TrailingBytes,   // bytes after the 174th name
    WrongPartCount,  // ZeroMQ: not 3 parts (frame) or 2 parts (names)
    WrongTopic,      // ZeroMQ: topic is not "frame" / "names"
    BadJson,         // ZeroMQ: not strict JSON (RFC 8259, ASCII only), or not an object/list
    MissingField,    // ZeroMQ: a required header field is absent
    WrongFieldType,  // ZeroMQ: a header field has the wrong JSON type or is out of range
    DuplicateField,  // ZeroMQ: a required header field appears twice
    BadValuesSize,   // ZeroMQ: values part is not 696 bytes
    BadNames,        // names: not exactly 174 of them (keep it the last enumerator)
};
inline constexpr int kStatusCount = static_cast<int>(Status::BadNames) + 1;

// The enumerator's name, e.g. "WrongSize" (used in logs and in tests/protocol_vectors/expected.txt).
const char* StatusName(Status status);

// True when `text` is 1 to max_len (bytes) printable ASCII characters, 0x20-0x7e: the rule for a
// subject (63), a control name (255) and an emotion label (32).
bool IsPrintableText(const std::string& text, std::size_t max_len);

// One rig frame. index >= 0; time = index / 60 s of audio time; values in rig order, finite.
struct Frame
{
    std::string subject;
    std::int32_t index = 0;
    double time = 0.0;
    float values[kNumControls] = {};
    // ZeroMQ header only (zero / empty for OSC):
    double t0 = 0.0;           // Unix time (s) at which audio time 0 entered the bridge
    std::string emotion;       // emotion label
    float intensity = 0.0f;    // frame-wise emotion intensity
};

// The control names of a stream. subject is empty for ZeroMQ (its names message has none).
struct Names
{
    std::string subject;
    std::vector<std::string> names;
};

// One part of a ZeroMQ multipart message.
struct Part
{
    const std::uint8_t* data = nullptr;
    std::size_t size = 0;
};

enum class OscKind
{
    Frame,    // starts with the 16 address bytes of /medtalk/frame
    Names,    // starts with the 16 address bytes of /medtalk/names
    Unknown,  // any other address (e.g. /medtalk/state of a live stream): a receiver ignores it
};

// Which decoder a datagram is for, by its address.
OscKind ClassifyOsc(const std::uint8_t* data, std::size_t size);

// Decoders: Status::Ok and `out` filled, or the first fault found and `out` untouched.
Status DecodeOscFrame(const std::uint8_t* data, std::size_t size, Frame& out);
Status DecodeOscNames(const std::uint8_t* data, std::size_t size, Names& out);
Status DecodeZmqFrame(const Part* parts, std::size_t count, Frame& out);
Status DecodeZmqNames(const Part* parts, std::size_t count, Names& out);

}  // namespace medtalk
