// The MEDTalk Live receive loop (see MEDTalkReceiver.h).

#include "MEDTalkReceiver.h"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>
#include <utility>

#ifndef WITH_MEDTALK_ZMQ
#define WITH_MEDTALK_ZMQ 0  // MEDTalkLiveLink.Build.cs always sets it; run.sh builds both ways
#endif

#if WITH_MEDTALK_ZMQ
#include <zmq.h>
#endif

namespace medtalk
{
// Helpers live in a named namespace (not an anonymous one) so that Unreal's unity builds, which
// paste several .cpp files together, cannot collide with them.
namespace receiver_detail
{
// `seconds` with `decimals` digits after the point.
std::string FormatSeconds(double seconds, int decimals)
{
    char text[32];
    std::snprintf(text, sizeof text, "%.*f", decimals, seconds);
    return text;
}

double SteadySeconds()
{
    const std::chrono::steady_clock::duration since_epoch =
        std::chrono::steady_clock::now().time_since_epoch();
    return std::chrono::duration<double>(since_epoch).count();
}
}  // namespace receiver_detail

using namespace receiver_detail;

Receiver::Receiver(const ReceiverConfig& config, ReceiverListener& listener, UdpOpener open_udp,
                   Clock clock)
    : config_(config)
    , listener_(listener)
    , open_udp_(std::move(open_udp))
    , clock_(clock ? std::move(clock) : Clock(SteadySeconds))
    , tracker_(0.5)
    , buffer_(kDatagramBytes)
{
}

Receiver::~Receiver()
{
    Close();
}

double Receiver::Now() const
{
    return clock_();
}

void Receiver::Poll()
{
    if (!open_)
    {
        const double now = Now();
        if (now >= next_open_s_ && !Open())
        {
            next_open_s_ = now + kReopenSeconds;
        }
        if (!open_)
        {
            std::this_thread::sleep_for(std::chrono::duration<double>(kPollSeconds));
            return;
        }
    }
    if (config_.transport == ReceiverConfig::Transport::Osc)
    {
        ReceiveOsc();
    }
    else
    {
        ReceiveZmq();
    }
    CheckSilence(Now());
}

bool Receiver::Open()
{
    std::string error;
    if (config_.transport == ReceiverConfig::Transport::Osc)
    {
        if (!open_udp_)
        {
            error = "this receiver has no UDP sockets";
        }
        else
        {
            udp_ = open_udp_(config_, error);
            if (udp_ == nullptr && error.empty())
            {
                error = "cannot bind " + ReceiverAddress(config_);
            }
        }
    }
    else
    {
#if WITH_MEDTALK_ZMQ
        zmq_context_ = zmq_ctx_new();
        zmq_socket_ = zmq_context_ ? zmq_socket(zmq_context_, ZMQ_SUB) : nullptr;
        const int timeout_ms = static_cast<int>(kPollSeconds * 1000);
        const int linger_ms = 0;
        if (zmq_socket_ == nullptr
            || zmq_setsockopt(zmq_socket_, ZMQ_SUBSCRIBE, "", 0) != 0
            || zmq_setsockopt(zmq_socket_, ZMQ_RCVTIMEO, &timeout_ms, sizeof timeout_ms) != 0
            || zmq_setsockopt(zmq_socket_, ZMQ_LINGER, &linger_ms, sizeof linger_ms) != 0
            || zmq_setsockopt(zmq_socket_, ZMQ_RECONNECT_IVL, &kZmqReconnectMs,
                              sizeof kZmqReconnectMs) != 0
            || zmq_connect(zmq_socket_, config_.endpoint.c_str()) != 0)
        {
            error = "cannot connect " + config_.endpoint + ": " + zmq_strerror(zmq_errno());
        }
#else
        error = "this build has no ZeroMQ (see MEDTalkLiveLink.Build.cs)";
#endif
    }
    if (!error.empty())
    {
        Close();
        if (error != transport_error_)
        {
            transport_error_ = error;
            listener_.OnStatus(ReceiverEvent::TransportError, error);
        }
        return false;
    }
    transport_error_.clear();
    open_ = true;
    listener_.OnStatus(ReceiverEvent::Listening, "Listening on " + ReceiverAddress(config_)
                                                     + " for subject " + config_.subject);
    return true;
}

void Receiver::Close()
{
    udp_.reset();
#if WITH_MEDTALK_ZMQ
    if (zmq_socket_ != nullptr)
    {
        zmq_close(zmq_socket_);
        zmq_socket_ = nullptr;
    }
    if (zmq_context_ != nullptr)
    {
        zmq_ctx_term(zmq_context_);
        zmq_context_ = nullptr;
    }
#endif
    open_ = false;
}

void Receiver::ReceiveOsc()
{
    if (!udp_->Wait(kPollSeconds))
    {
        return;
    }
    // Drains the pending datagrams, for at most kPollSeconds so that a flood cannot hold Poll.
    const double start = Now();
    do
    {
        const std::int64_t received = udp_->Receive(buffer_.data(), buffer_.size());
        if (received < 0)
        {
            return;
        }
        if (static_cast<std::uint64_t>(received) > buffer_.size())
        {
            Reject(Status::Oversized);
            continue;
        }
        HandleDatagram(buffer_.data(), static_cast<std::size_t>(received));
    } while (Now() - start < kPollSeconds);
}

void Receiver::HandleDatagram(const std::uint8_t* data, std::size_t size)
{
    switch (ClassifyOsc(data, size))
    {
        case OscKind::Frame:
        {
            Frame frame;
            const Status result = DecodeOscFrame(data, size, frame);
            result == Status::Ok ? HandleFrame(frame) : Reject(result);
            break;
        }
        case OscKind::Names:
        {
            Names names;
            const Status result = DecodeOscNames(data, size, names);
            result == Status::Ok ? HandleNames(names) : Reject(result);
            break;
        }
        case OscKind::Unknown:
            ++stats_.ignored;  // another message of the bridge, e.g. a live stream's /medtalk/state
            break;
    }
}

void Receiver::ReceiveZmq()
{
#if WITH_MEDTALK_ZMQ
    // zmq_msg_t must not be copied: parts are received into fixed slots, those beyond kMaxZmqParts
    // into `extra` and dropped.
    zmq_msg_t messages[kMaxZmqParts];
    zmq_msg_t extra;
    std::size_t count = 0;
    bool more = true;
    bool too_many = false;
    while (more)
    {
        zmq_msg_t& message = count < kMaxZmqParts ? messages[count] : extra;
        zmq_msg_init(&message);
        if (zmq_msg_recv(&message, zmq_socket_, 0) < 0)  // times out after kPollSeconds
        {
            zmq_msg_close(&message);
            break;  // ZeroMQ delivers a multipart message whole or not at all
        }
        more = zmq_msg_more(&message) != 0;
        if (&message == &extra)
        {
            too_many = true;
            zmq_msg_close(&extra);
        }
        else
        {
            ++count;
        }
    }
    if (too_many)
    {
        Reject(Status::WrongPartCount);
    }
    else if (count > 0 && !more)
    {
        Part parts[kMaxZmqParts];
        for (std::size_t i = 0; i < count; ++i)
        {
            parts[i] = Part{static_cast<const std::uint8_t*>(zmq_msg_data(&messages[i])),
                            zmq_msg_size(&messages[i])};
        }
        const auto topic_is = [&parts](const char* topic) {
            return parts[0].size == 5 && std::memcmp(parts[0].data, topic, 5) == 0;
        };
        if (topic_is("names"))
        {
            Names names;
            const Status result = DecodeZmqNames(parts, count, names);
            result == Status::Ok ? HandleNames(names) : Reject(result);
        }
        else if (topic_is("frame"))
        {
            Frame frame;
            const Status result = DecodeZmqFrame(parts, count, frame);
            result == Status::Ok ? HandleFrame(frame) : Reject(result);
        }
        else
        {
            ++stats_.ignored;  // subscribing to "" receives every topic the bridge publishes
        }
    }
    for (std::size_t i = 0; i < count; ++i)
    {
        zmq_msg_close(&messages[i]);
    }
#endif
}

void Receiver::Reject(Status status)
{
    ++stats_.rejected;
    std::uint64_t& count = stats_.rejected_by_status[static_cast<int>(status)];
    if (count++ == 0)
    {
        listener_.OnStatus(ReceiverEvent::Rejected,
                           "Rejected a packet on " + ReceiverAddress(config_) + ": "
                               + StatusName(status)
                               + " (further packets rejected for this reason are only counted)");
    }
}

void Receiver::HandleNames(const Names& names)
{
    // OSC names carry the subject; ZeroMQ names (empty subject) belong to the stream's subject.
    if (!names.subject.empty() && names.subject != config_.subject)
    {
        ++stats_.other_subject_names;
        return;
    }
    ++stats_.names_messages;
    if (tracker_.UpdateNames(names.names))
    {
        listener_.OnStatus(ReceiverEvent::NamesChanged,
                           "Subject " + config_.subject + ": new property names received");
    }
    PublishNamesIfDue();
}

void Receiver::PublishNamesIfDue()
{
    if (tracker_.TakeStaticDataDue())
    {
        listener_.OnNames(tracker_.PropertyNames());
    }
}

void Receiver::HandleFrame(const Frame& frame)
{
    if (frame.subject != config_.subject)
    {
        ++stats_.other_subject_frames;
        stats_.other_subject = frame.subject;
        return;
    }
    const double now = Now();
    const StreamTracker::Verdict verdict = tracker_.OnFrame(frame.index, now);
    if (!verdict.accept)
    {
        return;  // a duplicate or a late datagram: Live Link orders frames by arrival time
    }
    if (verdict.restarted)
    {
        listener_.OnStatus(ReceiverEvent::StreamStarted, "Subject " + config_.subject
                               + ": stream starts at frame " + std::to_string(frame.index));
    }
    stale_ = false;
    PublishNamesIfDue();
    listener_.OnFrame(frame, now);
}

void Receiver::CheckSilence(double now_s)
{
    tracker_.stale_after_s = stale_after_s_.load();
    if (!stale_ && tracker_.IsStale(now_s))
    {
        stale_ = true;
        listener_.OnStatus(ReceiverEvent::Stale,
                           "Subject " + config_.subject + ": no frame for "
                               + FormatSeconds(tracker_.SecondsSinceLastFrame(now_s), 1)
                               + " s (stale)");
    }
}

std::string Receiver::StatusText() const
{
    if (!transport_error_.empty())
    {
        return "Error: " + transport_error_ + "; retrying";
    }
    if (!tracker_.HasFrames())
    {
        return stats_.other_subject_frames > 0
            ? "Waiting: frames are for subject '" + stats_.other_subject + "'"
            : std::string("Waiting for the bridge");
    }
    if (stale_)
    {
        return "Stale: no frame for " + FormatSeconds(tracker_.SecondsSinceLastFrame(Now()), 0)
            + " s";
    }
    return "Receiving (" + std::to_string(tracker_.frames_accepted) + " frames, "
        + std::to_string(tracker_.frames_lost) + " lost, " + std::to_string(stats_.rejected)
        + " rejected)";
}

}  // namespace medtalk
