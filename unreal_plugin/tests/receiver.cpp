// A live receiver that runs the plugin's own receive loop (medtalk::Receiver, MEDTalkReceiver.h):
// listens on UDP (OSC; BSD sockets stand in for the engine's FSocket) or subscribes over ZeroMQ
// (libzmq), and writes one line per frame the loop accepts:
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

#include "MEDTalkReceiver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
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

// medtalk::UdpSocket over a BSD socket (the plugin's is over FSocket).
class PosixUdpSocket final : public medtalk::UdpSocket
{
public:
    explicit PosixUdpSocket(int fd) : fd_(fd) {}
    ~PosixUdpSocket() override { close(fd_); }
    PosixUdpSocket(const PosixUdpSocket&) = delete;
    PosixUdpSocket& operator=(const PosixUdpSocket&) = delete;

    bool Wait(double timeout_s) override
    {
        pollfd pfd{fd_, POLLIN, 0};
        return poll(&pfd, 1, static_cast<int>(timeout_s * 1000)) > 0;
    }

    std::int64_t Receive(std::uint8_t* buffer, std::size_t capacity) override
    {
        // MSG_TRUNC: the datagram's full size, also when it was longer than the buffer.
        return recv(fd_, buffer, capacity, MSG_DONTWAIT | MSG_TRUNC);
    }

private:
    int fd_;
};

// Binds config.bind:config.port (port 0: any free port, written to `bound_port`).
std::unique_ptr<medtalk::UdpSocket> OpenUdp(const medtalk::ReceiverConfig& config,
                                            std::string& error, int& bound_port)
{
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(config.port));
    if (inet_pton(AF_INET, config.bind.c_str(), &addr.sin_addr) != 1)
    {
        error = "bad bind address";
        return nullptr;
    }
    const int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0)
    {
        error = std::string("socket: ") + std::strerror(errno);
        return nullptr;
    }
    std::unique_ptr<medtalk::UdpSocket> sock = std::make_unique<PosixUdpSocket>(fd);
    const int buffer_bytes = medtalk::kUdpReceiveBufferBytes;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer_bytes, sizeof buffer_bytes);
    socklen_t len = sizeof addr;
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0
        || getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    {
        error = "cannot bind " + medtalk::ReceiverAddress(config) + ": " + std::strerror(errno);
        return nullptr;
    }
    bound_port = ntohs(addr.sin_port);
    return sock;
}

// Records what the receive loop hands over; checked at the end.
struct Recorder final : medtalk::ReceiverListener
{
    Options opt;
    int bound_port = 0;
    bool transport_failed = false;
    std::string lines;
    long frames = 0;
    long names_published = 0;
    long names_mismatch = 0;
    long wrong_time = 0;
    long wrong_stream_info = 0;
    double t0 = 0.0;

    bool Done() const { return frames >= opt.frames; }

    void OnNames(const std::vector<std::string>& names) override
    {
        ++names_published;
        const std::vector<std::string> built_in(medtalk::kControlNames,
                                                medtalk::kControlNames + medtalk::kNumControls);
        names_mismatch += names != built_in;
    }

    void OnFrame(const medtalk::Frame& f, double /*arrival_s*/) override
    {
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

    void OnStatus(medtalk::ReceiverEvent event, const std::string& text) override
    {
        std::printf("receiver: %s\n", text.c_str());
        if (event == medtalk::ReceiverEvent::Listening)
        {
            WriteFileAtomically(opt.ready, opt.udp ? std::to_string(bound_port) + "\n"
                                                   : std::string("connected\n"));
        }
        else if (event == medtalk::ReceiverEvent::TransportError)
        {
            transport_failed = true;
        }
    }

    int Report(const medtalk::Receiver& receiver) const
    {
        const medtalk::StreamTracker& tracker = receiver.Tracker();
        const medtalk::ReceiverStats& stats = receiver.Stats();
        WriteFileAtomically(opt.out, lines);
        std::printf("receiver (%s): %ld frames (lost %" PRIu64 ", dropped %" PRIu64
                    ", restarts %" PRIu64 "), %" PRIu64 " names messages, %" PRIu64
                    " other OSC addresses or topics (ignored)\n",
                    opt.udp ? "udp" : "zmq", frames, tracker.frames_lost, tracker.frames_dropped,
                    tracker.restarts, stats.names_messages, stats.ignored);
        for (int s = 0; s < medtalk::kStatusCount; ++s)
        {
            if (stats.rejected_by_status[s] > 0)
            {
                std::printf("receiver: rejected %" PRIu64 " packets: %s\n",
                            stats.rejected_by_status[s],
                            medtalk::StatusName(static_cast<medtalk::Status>(s)));
            }
        }
        const bool ok = frames == opt.frames && tracker.frames_lost == 0
            && tracker.frames_dropped == 0 && tracker.restarts == 0 && stats.rejected == 0
            && stats.names_messages > 0 && names_published > 0 && names_mismatch == 0
            && stats.other_subject_frames == 0 && stats.other_subject_names == 0
            && wrong_time == 0 && wrong_stream_info == 0;
        if (!ok)
        {
            std::printf("receiver: FAILED (expected %ld frames; names mismatches %ld, frames and "
                        "names of other subjects %" PRIu64 " and %" PRIu64 ", wrong t %ld, wrong "
                        "t0/emotion/intensity %ld)\n",
                        opt.frames, names_mismatch, stats.other_subject_frames,
                        stats.other_subject_names, wrong_time, wrong_stream_info);
        }
        return ok ? 0 : 1;
    }
};
}  // namespace

int main(int argc, char** argv)
{
    Recorder r;
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

    medtalk::ReceiverConfig config;
    config.transport = r.opt.udp ? medtalk::ReceiverConfig::Transport::Osc
                                 : medtalk::ReceiverConfig::Transport::Zmq;
    config.bind = "127.0.0.1";
    config.port = 0;  // any free port, reported in the ready file
    config.endpoint = r.opt.endpoint;
    config.subject = r.opt.subject;
    medtalk::Receiver receiver(config, r,
                               [&r](const medtalk::ReceiverConfig& c, std::string& error) {
                                   return OpenUdp(c, error, r.bound_port);
                               });
    const double deadline = receiver.Now() + r.opt.timeout_s;
    while (!r.Done() && receiver.Now() < deadline)
    {
        receiver.Poll();
        if (r.transport_failed)
        {
            return 2;
        }
    }
    receiver.Close();
    return r.Report(receiver);
}
