// MEDTalk Live wire protocol, receiver side: packet decoding and validation, and the stream
// bookkeeping of a receiver (docs/protocol.md).
//
// Plain C++17 with no engine types: the Unreal plugin compiles it as part of its module, and
// unreal_plugin/tests/run.sh compiles it with g++ (under AddressSanitizer and UBSan) against the
// golden packets that the Python sender writes (tests/protocol_vectors/).
//
// Every decoder reads only inside [data, data + size), never through a misaligned pointer, and
// writes its output only when the packet is valid (Status::Ok).

#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace medtalk
{
inline constexpr int kNumControls = 174;             // face-board controls per frame, rig order
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
inline constexpr int kJsonMaxDepth = 16;                 // nesting of unknown header fields

// The 174 control names in rig order (medtalk_core/data/metahuman_controls_174.txt): the
// subject's property names until /medtalk/names arrives.
extern const char* const kControlNames[kNumControls];

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
    BadNames,        // names: not exactly 174 of them
};

// The enumerator's name, e.g. "WrongSize" (used in logs and in tests/protocol_vectors/expected.txt).
const char* StatusName(Status status);

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

// Where a receiver listens; parsed from and written to a Live Link connection string such as
// "transport=osc;bind=127.0.0.1;port=9100;subject=MEDTalk" or
// "transport=zmq;endpoint=tcp://127.0.0.1:5570;subject=MEDTalk".
struct ReceiverConfig
{
    enum class Transport
    {
        Osc,
        Zmq
    };
    Transport transport = Transport::Osc;
    std::string bind = "127.0.0.1";                   // IPv4 address the UDP socket binds
    int port = 9100;                                  // UDP port, 1-65535
    std::string endpoint = "tcp://127.0.0.1:5570";    // ZeroMQ endpoint the SUB socket connects
    std::string subject = "MEDTalk";                  // Live Link subject; frames for others are ignored
};

// Parses a connection string (keys in any order, missing keys keep their defaults). Returns false
// and sets `error` to a one-line reason for an unknown key, a bad port, a bind address that is not
// a dotted IPv4 address, a bad subject or an endpoint that is not tcp:// or ipc://.
bool ParseConnectionString(const std::string& text, ReceiverConfig& out, std::string& error);
std::string ToConnectionString(const ReceiverConfig& config);

// A receiver's bookkeeping for one subject: current property names, frame order, restarts of the
// bridge and silence. Times are seconds on any monotonic clock.
class StreamTracker
{
public:
    // What to do with a decoded frame.
    struct Verdict
    {
        bool accept = false;      // push it (false: a duplicate or a late, reordered datagram)
        bool restarted = false;   // first frame, or the bridge started a new stream
        std::uint32_t lost = 0;   // frames missing between the previous accepted frame and this
    };

    explicit StreamTracker(double stale_after_s);

    // The names to publish as the subject's property names: the built-in 174 until a names
    // message arrives, then the last one received.
    const std::vector<std::string>& PropertyNames() const { return names_; }

    // Adopt `names`; true when they differ from the current ones (publish static data again).
    bool UpdateNames(const std::vector<std::string>& names);

    // True once, until the static data (property names) has been published, and again after
    // UpdateNames changed them.
    bool TakeStaticDataDue();

    Verdict OnFrame(std::int32_t index, double now_s);

    // Frames have arrived, and none for longer than stale_after_s. Reset by the next frame.
    bool IsStale(double now_s) const;
    bool HasFrames() const { return has_frames_; }
    double SecondsSinceLastFrame(double now_s) const { return now_s - last_arrival_s_; }

    double stale_after_s = 0.5;
    std::uint64_t frames_accepted = 0;
    std::uint64_t frames_lost = 0;
    std::uint64_t frames_dropped = 0;  // duplicates and late datagrams
    std::uint64_t restarts = 0;        // new streams after the first

private:
    std::vector<std::string> names_;
    bool static_due_ = true;
    bool has_frames_ = false;
    std::int32_t last_index_ = 0;
    double last_arrival_s_ = 0.0;
};

// StreamTracker recognises a new stream (a restarted bridge) when the index goes back by more
// than kRestartIndexJump frames, or when a frame follows more than kRestartSilenceS of silence
// (the bridge takes seconds to restart; reordering on a network spans milliseconds).
inline constexpr std::int32_t kRestartIndexJump = 30;
inline constexpr double kRestartSilenceS = 0.25;

}  // namespace medtalk
