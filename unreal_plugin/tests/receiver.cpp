// A small live receiver built from MEDTalkPacket, as the Unreal plugin uses it: listens on UDP
// (OSC) or subscribes over ZeroMQ (libzmq), decodes and validates every packet, keeps the
// StreamTracker bookkeeping, and writes one line per accepted frame:
//
//     INDEX TIME(float64 bits, hex) VALUE_0 ... VALUE_173 (float32 bits, hex)
//
// the same format as record_zmq.py writes from what the Python side receives, so the two files
// can be compared byte for byte. Exits 0 when exactly --frames frames arrived, in order, none lost,
// nothing rejected, the names matched the built-in table and every t was index / 60. Datagrams
// with other addresses (a live stream's /medtalk/state) are counted and ignored, as in the plugin.
//
// usage: receiver (--udp | --zmq ENDPOINT) --frames N --out FILE --ready FILE
//                 [--subject NAME] [--emotion LABEL] [--timeout SECONDS]
// --ready: written once listening; for --udp it holds the bound port (127.0.0.1, ephemeral).

#include "MEDTalkPacket.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zmq.h>

#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace
{
struct Options
{
    bool udp = false;
    std::string endpoint;
    long frames = 0;
    std::string out;
    std::string ready;
    std::string subject = "MEDTalk";
    std::string emotion;
    double timeout_s = 120.0;
};

double Now()
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void WriteFileAtomically(const std::string& path, const std::string& text)
{
    const std::string tmp = path + ".tmp";
    FILE* f = std::fopen(tmp.c_str(), "w");
    if (f == nullptr || std::fputs(text.c_str(), f) < 0 || std::fclose(f) != 0)
    {
        std::perror(tmp.c_str());
        std::exit(2);
    }
    std::rename(tmp.c_str(), path.c_str());
}

// Everything the receiver saw; checked at the end.
struct Receiver
{
    Options opt;
    medtalk::StreamTracker tracker{0.5};
    std::string lines;
    long frames = 0;
    long names_messages = 0;
    long names_mismatch = 0;
    long wrong_subject = 0;
    long wrong_time = 0;
    long wrong_stream_info = 0;
    long unknown = 0;
    std::map<std::string, long> rejected;
    double t0 = 0.0;

    bool Done() const { return frames >= opt.frames; }

    void OnNames(const medtalk::Names& names)
    {
        ++names_messages;
        const std::vector<std::string> built_in(medtalk::kControlNames,
                                                medtalk::kControlNames + medtalk::kNumControls);
        names_mismatch += names.names != built_in || (opt.udp && names.subject != opt.subject);
        tracker.UpdateNames(names.names);
    }

    void OnFrame(const medtalk::Frame& f)
    {
        if (f.subject != opt.subject)
        {
            ++wrong_subject;
            return;
        }
        if (!tracker.OnFrame(f.index, Now()).accept)
        {
            return;
        }
        std::uint64_t time_bits;
        const double expected_time = static_cast<double>(f.index) / medtalk::kFps;
        std::memcpy(&time_bits, &f.time, sizeof time_bits);
        wrong_time += std::memcmp(&f.time, &expected_time, sizeof expected_time) != 0;
        if (!opt.udp)
        {
            if (frames == 0)
            {
                t0 = f.t0;
            }
            if (f.t0 != t0 || f.emotion != opt.emotion || !std::isfinite(f.intensity))
            {
                if (wrong_stream_info++ == 0)
                {
                    std::printf("receiver: frame %" PRId32 ": t0 %.17g (frame 0: %.17g; one t0 per "
                                "stream), emotion '%s' (expected '%s'), intensity %g\n", f.index,
                                f.t0, t0, f.emotion.c_str(), opt.emotion.c_str(),
                                static_cast<double>(f.intensity));
                }
            }
        }
        char head[64];
        std::snprintf(head, sizeof head, "%" PRId32 " %016" PRIx64, f.index, time_bits);
        lines += head;
        for (const float value : f.values)
        {
            std::uint32_t bits;
            std::memcpy(&bits, &value, sizeof bits);
            char hex[10];
            std::snprintf(hex, sizeof hex, " %08" PRIx32, bits);
            lines += hex;
        }
        lines += '\n';
        ++frames;
    }

    void Reject(medtalk::Status status) { ++rejected[medtalk::StatusName(status)]; }

    int Report() const
    {
        WriteFileAtomically(opt.out, lines);
        std::printf("receiver (%s): %ld frames (lost %" PRIu64 ", dropped %" PRIu64
                    ", restarts %" PRIu64 "), %ld names messages, %ld other OSC addresses "
                    "or topics (ignored)\n",
                    opt.udp ? "udp" : "zmq", frames, tracker.frames_lost, tracker.frames_dropped,
                    tracker.restarts, names_messages, unknown);
        long rejects = 0;
        for (const auto& kv : rejected)
        {
            std::printf("receiver: rejected %ld packets: %s\n", kv.second, kv.first.c_str());
            rejects += kv.second;
        }
        const bool ok = frames == opt.frames && tracker.frames_lost == 0
            && tracker.frames_dropped == 0 && tracker.restarts == 0 && rejects == 0
            && names_messages > 0 && names_mismatch == 0 && wrong_subject == 0 && wrong_time == 0
            && wrong_stream_info == 0;
        if (!ok)
        {
            std::printf("receiver: FAILED (expected %ld frames; names mismatches %ld, wrong "
                        "subject %ld, wrong t %ld, wrong t0/emotion/intensity %ld)\n",
                        opt.frames, names_mismatch, wrong_subject, wrong_time, wrong_stream_info);
        }
        return ok ? 0 : 1;
    }
};

int RunUdp(Receiver& r)
{
    const int sock = socket(AF_INET, SOCK_DGRAM, 0);
    const int buffer_bytes = 4 << 20;
    setsockopt(sock, SOL_SOCKET, SO_RCVBUF, &buffer_bytes, sizeof buffer_bytes);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (sock < 0 || bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0
        || getsockname(sock, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    {
        std::perror("udp socket");
        return 2;
    }
    WriteFileAtomically(r.opt.ready, std::to_string(ntohs(addr.sin_port)) + "\n");
    std::vector<std::uint8_t> buffer(medtalk::kDatagramBytes);
    const double deadline = Now() + r.opt.timeout_s;
    while (!r.Done() && Now() < deadline)
    {
        pollfd pfd{sock, POLLIN, 0};
        if (poll(&pfd, 1, 200) <= 0)
        {
            continue;
        }
        const ssize_t n = recv(sock, buffer.data(), buffer.size(), MSG_TRUNC);
        if (n < 0)
        {
            continue;
        }
        if (static_cast<std::size_t>(n) > buffer.size())
        {
            r.Reject(medtalk::Status::Oversized);
            continue;
        }
        const std::size_t size = static_cast<std::size_t>(n);
        switch (medtalk::ClassifyOsc(buffer.data(), size))
        {
            case medtalk::OscKind::Frame:
            {
                medtalk::Frame frame;
                const medtalk::Status s = medtalk::DecodeOscFrame(buffer.data(), size, frame);
                s == medtalk::Status::Ok ? r.OnFrame(frame) : r.Reject(s);
                break;
            }
            case medtalk::OscKind::Names:
            {
                medtalk::Names names;
                const medtalk::Status s = medtalk::DecodeOscNames(buffer.data(), size, names);
                s == medtalk::Status::Ok ? r.OnNames(names) : r.Reject(s);
                break;
            }
            case medtalk::OscKind::Unknown: ++r.unknown; break;
        }
    }
    close(sock);
    return r.Report();
}

int RunZmq(Receiver& r)
{
    void* context = zmq_ctx_new();
    void* sub = zmq_socket(context, ZMQ_SUB);
    const int reconnect_ms = 20;
    const int timeout_ms = 200;
    const int linger_ms = 0;
    zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "", 0);
    zmq_setsockopt(sub, ZMQ_RECONNECT_IVL, &reconnect_ms, sizeof reconnect_ms);
    zmq_setsockopt(sub, ZMQ_RCVTIMEO, &timeout_ms, sizeof timeout_ms);
    zmq_setsockopt(sub, ZMQ_LINGER, &linger_ms, sizeof linger_ms);
    if (zmq_connect(sub, r.opt.endpoint.c_str()) != 0)
    {
        std::fprintf(stderr, "zmq_connect %s: %s\n", r.opt.endpoint.c_str(), zmq_strerror(zmq_errno()));
        return 2;
    }
    WriteFileAtomically(r.opt.ready, "connected\n");
    const double deadline = Now() + r.opt.timeout_s;
    constexpr std::size_t kMaxParts = 8;
    while (!r.Done() && Now() < deadline)
    {
        // zmq_msg_t must not be copied: receive into fixed slots, the extra parts into `extra`.
        zmq_msg_t messages[kMaxParts];
        zmq_msg_t extra;
        std::size_t count = 0;
        bool more = true;
        bool failed = false;
        bool too_many = false;
        while (more)
        {
            zmq_msg_t& msg = count < kMaxParts ? messages[count] : extra;
            zmq_msg_init(&msg);
            if (zmq_msg_recv(&msg, sub, 0) < 0)
            {
                zmq_msg_close(&msg);
                failed = true;  // timeout (a message arrives whole or not at all)
                break;
            }
            more = zmq_msg_more(&msg) != 0;
            if (&msg == &extra)
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
            r.Reject(medtalk::Status::WrongPartCount);
        }
        else if (!failed)
        {
            std::vector<medtalk::Part> parts;
            for (std::size_t i = 0; i < count; ++i)
            {
                parts.push_back(medtalk::Part{static_cast<const std::uint8_t*>(zmq_msg_data(&messages[i])),
                                              zmq_msg_size(&messages[i])});
            }
            auto topic_is = [&](const char* topic) {
                return parts[0].size == 5 && std::memcmp(parts[0].data, topic, 5) == 0;
            };
            if (topic_is("names"))
            {
                medtalk::Names names;
                const medtalk::Status s = medtalk::DecodeZmqNames(parts.data(), parts.size(), names);
                s == medtalk::Status::Ok ? r.OnNames(names) : r.Reject(s);
            }
            else if (topic_is("frame"))
            {
                medtalk::Frame frame;
                const medtalk::Status s = medtalk::DecodeZmqFrame(parts.data(), parts.size(), frame);
                s == medtalk::Status::Ok ? r.OnFrame(frame) : r.Reject(s);
            }
            else
            {
                ++r.unknown;  // another topic: ignored, as in the plugin
            }
        }
        for (std::size_t i = 0; i < count; ++i)
        {
            zmq_msg_close(&messages[i]);
        }
    }
    zmq_close(sub);
    zmq_ctx_term(context);
    return r.Report();
}
}  // namespace

int main(int argc, char** argv)
{
    Receiver r;
    for (int i = 1; i < argc; ++i)
    {
        const std::string arg = argv[i];
        const char* next = i + 1 < argc ? argv[i + 1] : nullptr;
        if (arg == "--udp") { r.opt.udp = true; continue; }
        if (next == nullptr) { std::fprintf(stderr, "%s needs a value\n", arg.c_str()); return 2; }
        if (arg == "--zmq") r.opt.endpoint = next;
        else if (arg == "--frames") r.opt.frames = std::atol(next);
        else if (arg == "--out") r.opt.out = next;
        else if (arg == "--ready") r.opt.ready = next;
        else if (arg == "--subject") r.opt.subject = next;
        else if (arg == "--emotion") r.opt.emotion = next;
        else if (arg == "--timeout") r.opt.timeout_s = std::atof(next);
        else { std::fprintf(stderr, "unknown option %s\n", arg.c_str()); return 2; }
        ++i;
    }
    if (r.opt.udp == !r.opt.endpoint.empty() || r.opt.frames <= 0 || r.opt.out.empty()
        || r.opt.ready.empty() || (!r.opt.udp && r.opt.emotion.empty()))
    {
        std::fprintf(stderr, "usage: receiver (--udp | --zmq ENDPOINT --emotion LABEL) --frames N "
                             "--out FILE --ready FILE [--subject NAME] [--timeout S]\n");
        return 2;
    }
    return r.opt.udp ? RunUdp(r) : RunZmq(r);
}
