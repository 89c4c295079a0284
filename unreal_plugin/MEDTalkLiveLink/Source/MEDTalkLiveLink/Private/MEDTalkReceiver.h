// The MEDTalk Live receive loop (docs/protocol.md): one subject's stream over OSC/UDP or ZeroMQ,
// decoded, validated and booked by StreamTracker, and handed to a listener. The plugin's receiver
// thread runs it (MEDTalkLiveLinkSource.cpp turns what it hands over into Live Link data), and so
// does the live receiver of unreal_plugin/tests (receiver.cpp, which records the frames).
//
// Plain C++17 with no engine types, like the rest of the receiver code (see MEDTalkPacket.h).
// UDP sockets come from the platform through UdpSocket: the plugin wraps Unreal's FSocket (which
// exists on every platform the engine builds for), the tests BSD sockets. ZeroMQ is libzmq's C API,
// compiled in when WITH_MEDTALK_ZMQ is 1 (MEDTalkLiveLink.Build.cs).

#pragma once

#include "MEDTalkConnection.h"
#include "MEDTalkPacket.h"
#include "MEDTalkStreamTracker.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace medtalk
{
inline constexpr double kPollSeconds = 0.1;      // longest wait for a packet: bounds shutdown time
inline constexpr double kReopenSeconds = 2.0;    // retry period when the transport cannot be opened
inline constexpr int kUdpReceiveBufferBytes = 1 << 22;  // UDP socket receive buffer to ask for
inline constexpr std::size_t kMaxZmqParts = 8;   // a ZeroMQ message with more parts is rejected
// ZeroMQ SUB reconnect period (ms) while the bridge is not up: well inside the 0.3 s that the
// bridge waits after its bind before the first frame, so a waiting receiver joins in time.
inline constexpr int kZmqReconnectMs = 50;

// A bound UDP socket of the platform.
class UdpSocket
{
public:
    virtual ~UdpSocket() = default;

    // Waits up to timeout_s seconds for a datagram; true when one is pending.
    virtual bool Wait(double timeout_s) = 0;

    // Reads the next pending datagram into [buffer, buffer + capacity) without waiting. Returns
    // its size in bytes (more than capacity when it did not fit and was cut), or -1 when none is
    // pending or the socket failed.
    virtual std::int64_t Receive(std::uint8_t* buffer, std::size_t capacity) = 0;
};

// Opens a UDP socket bound to config.bind, config.port, with a receive buffer of
// kUdpReceiveBufferBytes: the socket, or nullptr and `error` set to a one-line reason.
using UdpOpener =
    std::function<std::unique_ptr<UdpSocket>(const ReceiverConfig& config, std::string& error)>;

// What Receiver reports to ReceiverListener::OnStatus, each with a one-line text for a log.
enum class ReceiverEvent
{
    Listening,       // the transport is open
    TransportError,  // it cannot be opened (retried every kReopenSeconds; reported on a new error)
    Rejected,        // the first packet rejected for a Status (later ones are only counted)
    NamesChanged,    // a names message changed the property names
    StreamStarted,   // the first frame, or a new stream of a restarted bridge
    Stale,           // no frame for the stale time: the subject's frames should be cleared
};

// Receives what the loop produces, on the thread that calls Receiver::Poll.
class ReceiverListener
{
public:
    virtual ~ReceiverListener() = default;

    // The subject's property names, the order of Frame::values: to publish before the frames that
    // follow. Called before the first frame, and again whenever a names message changed them.
    virtual void OnNames(const std::vector<std::string>& names) = 0;

    // An accepted frame of the subject, in stream order (duplicates and late datagrams are
    // dropped). arrival_s: when it arrived, seconds on the receiver's clock.
    virtual void OnFrame(const Frame& frame, double arrival_s) = 0;

    // A change of state worth a log line; `text` says it in one line, without a newline.
    virtual void OnStatus(ReceiverEvent event, const std::string& text) = 0;
};

// What arrived besides the accepted frames (those are counted by StreamTracker).
struct ReceiverStats
{
    std::uint64_t rejected = 0;                            // packets rejected, for any Status
    std::uint64_t rejected_by_status[kStatusCount] = {};   // indexed by Status
    std::uint64_t names_messages = 0;        // valid names messages of the subject
    std::uint64_t other_subject_frames = 0;  // valid frames of another subject (ignored)
    std::uint64_t other_subject_names = 0;   // valid OSC names of another subject (ignored)
    std::uint64_t ignored = 0;               // other OSC addresses or ZeroMQ topics
    std::string other_subject;               // the subject of the last other-subject frame
};

// The receive loop of one subject. All methods but SetStaleAfterSeconds belong to the thread that
// calls Poll.
class Receiver
{
public:
    // Seconds on a monotonic clock.
    using Clock = std::function<double()>;

    // A receiver of config.subject on config's transport, reporting to `listener` (which must
    // outlive it). open_udp: the platform's UDP sockets (may be empty when config is ZeroMQ).
    // clock: arrival times and timeouts; std::chrono::steady_clock when empty. Opens nothing yet.
    Receiver(const ReceiverConfig& config, ReceiverListener& listener, UdpOpener open_udp,
             Clock clock = Clock());
    ~Receiver();
    Receiver(const Receiver&) = delete;
    Receiver& operator=(const Receiver&) = delete;

    // One turn of the loop: opens the transport if it is closed (at most every kReopenSeconds;
    // while it stays closed, sleeps kPollSeconds), waits up to kPollSeconds for packets, handles
    // them, then checks for silence. Returns within about 2 * kPollSeconds.
    void Poll();

    // Closes the transport; the next Poll opens it again.
    void Close();

    bool IsOpen() const { return open_; }

    // Seconds without a frame after which the subject is stale (default 0.5). Any thread.
    void SetStaleAfterSeconds(double seconds) { stale_after_s_.store(seconds); }

    // A one-line state for a status display, e.g. "Receiving (120 frames, 0 lost, 0 rejected)".
    std::string StatusText() const;

    // Why the transport is closed ("" while it is open or not tried yet).
    const std::string& TransportError() const { return transport_error_; }

    const StreamTracker& Tracker() const { return tracker_; }
    const ReceiverStats& Stats() const { return stats_; }

    // The receiver's clock, seconds.
    double Now() const;

private:
    bool Open();
    void ReceiveOsc();
    void ReceiveZmq();
    void HandleDatagram(const std::uint8_t* data, std::size_t size);
    void HandleFrame(const Frame& frame);
    void HandleNames(const Names& names);
    void Reject(Status status);
    void PublishNamesIfDue();
    void CheckSilence(double now_s);

    const ReceiverConfig config_;
    ReceiverListener& listener_;
    const UdpOpener open_udp_;
    const Clock clock_;
    std::atomic<double> stale_after_s_{0.5};

    StreamTracker tracker_;
    ReceiverStats stats_;
    std::vector<std::uint8_t> buffer_;
    std::unique_ptr<UdpSocket> udp_;
    void* zmq_context_ = nullptr;
    void* zmq_socket_ = nullptr;
    bool open_ = false;
    bool stale_ = false;
    double next_open_s_ = 0.0;
    std::string transport_error_;
};

}  // namespace medtalk
