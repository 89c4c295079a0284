// Fuzz cases for MEDTalkPacket, built with -fsanitize=address,undefined -fno-sanitize-recover:
// truncations, extensions, every single-byte change (with an exact oracle for /medtalk/frame),
// random multi-byte changes, random bytes, hostile JSON, shifted addresses, random tracker and
// connection-string input, and the receive loop (medtalk::Receiver) on a hostile datagram stream.
// A crash, an out-of-bounds read or undefined behaviour aborts the run; a wrong verdict is a
// failed check. Deterministic: a fixed seed.
//
// usage: fuzz_tests VECTORS_DIR [ITERATIONS]

#include "MEDTalkConnection.h"
#include "MEDTalkStreamTracker.h"
#include "scripted_receiver.h"
#include "test_util.h"

#include <cmath>
#include <cstdlib>
#include <memory>
#include <random>
#include <utility>

using namespace medtalk_test;
using medtalk::Status;

namespace
{
std::mt19937_64 rng(20240601);

std::size_t Below(std::size_t n)
{
    return n == 0 ? 0 : static_cast<std::size_t>(rng() % n);
}

std::uint8_t RandomByte()
{
    return static_cast<std::uint8_t>(rng() & 0xff);
}

// What every accepted packet must satisfy, whatever bytes it came from.
bool FrameInvariants(const medtalk::Frame& f)
{
    bool ok = !f.subject.empty() && f.subject.size() <= medtalk::kSubjectMax && f.index >= 0
        && std::isfinite(f.time) && std::isfinite(f.t0) && std::isfinite(f.intensity);
    for (const char ch : f.subject)
    {
        ok = ok && ch >= 0x20 && ch <= 0x7e;
    }
    for (const float value : f.values)
    {
        ok = ok && std::isfinite(value);
    }
    return ok;
}

bool NamesInvariants(const medtalk::Names& n)
{
    bool ok = n.names.size() == static_cast<std::size_t>(medtalk::kNumControls)
        && n.subject.size() <= medtalk::kSubjectMax;
    for (const std::string& name : n.names)
    {
        ok = ok && !name.empty() && name.size() <= medtalk::kNameMax;
        for (const char ch : name)
        {
            ok = ok && ch >= 0x20 && ch <= 0x7e;
        }
    }
    return ok;
}

// Runs one packet through every decoder of its transport and checks the invariants of whatever
// is accepted. Returns the status of the decoder `kind`.
Status Run(Checker& c, const std::string& kind, const std::vector<Bytes>& parts,
           const std::string& what)
{
    OwnedParts owned(parts);
    medtalk::Frame frame;
    medtalk::Names names;
    Status result = Status::Ok;
    const bool osc = kind.rfind("osc_", 0) == 0;
    const char* kinds[2] = {osc ? "osc_frame" : "zmq_frame", osc ? "osc_names" : "zmq_names"};
    for (const char* k : kinds)
    {
        const Status s = Decode(k, owned.parts, frame, names);
        if (s == Status::Ok)
        {
            const bool is_frame = std::strstr(k, "frame") != nullptr;
            if (!(is_frame ? FrameInvariants(frame) : NamesInvariants(names)))
            {
                c.Check(false, what + ": accepted packet breaks the invariants");
            }
        }
        if (kind == k)
        {
            result = s;
        }
    }
    if (osc && !parts.empty())
    {
        (void)medtalk::ClassifyOsc(owned.parts[0].data, owned.parts[0].size);
    }
    return result;
}

// The exact verdict for /medtalk/frame "MEDTalk" (912 bytes) with byte `pos` set to `value`.
bool FrameMutationAccepted(const Bytes& packet, std::size_t pos)
{
    auto be32 = [&](std::size_t at) {
        return (std::uint32_t{packet[at]} << 24) | (std::uint32_t{packet[at + 1]} << 16)
            | (std::uint32_t{packet[at + 2]} << 8) | std::uint32_t{packet[at + 3]};
    };
    if (pos < 196)
    {
        return false;  // address and type tags are fixed
    }
    if (pos < 203)
    {
        // Another printable subject, or "MEDTal" (6 characters, still 8 bytes with padding).
        return (packet[pos] >= 0x20 && packet[pos] <= 0x7e) || (pos == 202 && packet[pos] == 0);
    }
    if (pos == 203)
    {
        return packet[pos] == 0;  // the subject's padding
    }
    if (pos < 208)
    {
        return (be32(204) & 0x80000000u) == 0;  // index sign
    }
    if (pos < 216)
    {
        const std::uint64_t bits = (std::uint64_t{be32(208)} << 32) | be32(212);
        double t;
        std::memcpy(&t, &bits, sizeof t);
        return std::isfinite(t);
    }
    const std::size_t at = pos - (pos - 216) % 4;
    const std::uint32_t bits = be32(at);
    float value;
    std::memcpy(&value, &bits, sizeof value);
    return std::isfinite(value);
}

void FuzzOscSeeds(Checker& c, const std::vector<Vector>& vectors, int iterations)
{
    for (const Vector& v : vectors)
    {
        if (v.kind.rfind("osc_", 0) != 0 || v.parts.size() != 1)
        {
            continue;
        }
        const Bytes& seed = v.parts[0];
        const bool valid = v.status == "Ok";
        // Every truncation and extension of a valid packet is invalid.
        for (std::size_t n = 0; n < seed.size(); ++n)
        {
            const Status s = Run(c, v.kind, {Bytes(seed.begin(), seed.begin() + static_cast<long>(n))},
                                 v.name);
            if (valid && s == Status::Ok)
            {
                c.Check(false, v.name + " truncated to " + std::to_string(n) + " bytes accepted");
            }
        }
        for (std::size_t extra = 1; extra <= 8; ++extra)
        {
            Bytes longer = seed;
            for (std::size_t i = 0; i < extra; ++i)
            {
                longer.push_back(i % 2 ? RandomByte() : 0);
            }
            c.Check(Run(c, v.kind, {longer}, v.name) != Status::Ok || !valid,
                    v.name + " extended by " + std::to_string(extra) + " bytes is refused");
        }
        // Every single-byte change; an exact oracle for the default-subject frames.
        const bool oracle = valid && v.kind == "osc_frame" && seed.size() == 912
            && std::memcmp(seed.data() + 196, "MEDTalk", 8) == 0;
        for (std::size_t pos = 0; pos < seed.size(); ++pos)
        {
            const std::uint8_t candidates[4] = {0x00, 0xff, static_cast<std::uint8_t>(seed[pos] ^ 1),
                                                RandomByte()};
            for (const std::uint8_t value : candidates)
            {
                Bytes mutated = seed;
                mutated[pos] = value;
                if (mutated[pos] == seed[pos])
                {
                    continue;
                }
                const Status s = Run(c, v.kind, {mutated}, v.name);
                if (oracle && (s == Status::Ok) != FrameMutationAccepted(mutated, pos))
                {
                    c.Check(false, v.name + ": byte " + std::to_string(pos) + " set to "
                                       + std::to_string(mutated[pos]) + " gave "
                                       + medtalk::StatusName(s));
                }
            }
        }
        // Random multi-byte changes.
        for (int i = 0; i < iterations / 20; ++i)
        {
            Bytes mutated = seed;
            const std::size_t changes = 1 + Below(8);
            for (std::size_t k = 0; k < changes; ++k)
            {
                mutated[Below(mutated.size())] = RandomByte();
            }
            Run(c, v.kind, {mutated}, v.name);
        }
        c.Check(true, v.name + " survived its mutations");
    }
}

void FuzzRandomDatagrams(Checker& c, int iterations)
{
    for (int i = 0; i < iterations; ++i)
    {
        Bytes packet(Below(7000));
        for (std::uint8_t& b : packet)
        {
            b = RandomByte();
        }
        if (i % 2 == 1 && packet.size() >= 196)
        {
            // A valid address and type tag string, random after it: reaches the deeper checks.
            const bool frame = i % 4 == 1;
            std::memcpy(packet.data(), frame ? "/medtalk/frame\0\0" : "/medtalk/names\0\0", 16);
            const std::string tags = frame ? ",sid" + std::string(174, 'f') : ",s" + std::string(174, 's');
            std::memset(packet.data() + 16, 0, 180);
            std::memcpy(packet.data() + 16, tags.data(), tags.size());
        }
        const Status s = Run(c, "osc_frame", {packet}, "random datagram");
        if (i % 2 == 0 && s == Status::Ok)
        {
            c.Check(false, "random bytes accepted as a frame");
        }
    }
    c.Check(true, "random datagrams");
}

std::string HeaderOf(const std::vector<Vector>& vectors)
{
    for (const Vector& v : vectors)
    {
        if (v.name == "zmq_frame_example")
        {
            return std::string(v.parts[1].begin(), v.parts[1].end());
        }
    }
    return std::string();
}

Bytes ToBytes(const std::string& text)
{
    return Bytes(text.begin(), text.end());
}

void FuzzZmq(Checker& c, const std::vector<Vector>& vectors, int iterations)
{
    const Vector* example = nullptr;
    const Vector* names = nullptr;
    for (const Vector& v : vectors)
    {
        example = v.name == "zmq_frame_example" ? &v : example;
        names = v.name == "zmq_names" ? &v : names;
    }
    if (!c.Check(example && names, "zmq seeds present"))
    {
        return;
    }
    const Bytes& topic = example->parts[0];
    const Bytes& values = example->parts[2];
    const std::string header = HeaderOf(vectors);
    auto frame_with = [&](const std::string& h) {
        return Run(c, "zmq_frame", {topic, ToBytes(h), values}, "header " + h.substr(0, 60));
    };
    // Truncated headers and names lists are not JSON.
    for (std::size_t n = 0; n < header.size(); ++n)
    {
        c.Check(frame_with(header.substr(0, n)) != Status::Ok, "header truncated to " + std::to_string(n));
    }
    const Bytes& list = names->parts[1];
    for (std::size_t n = 0; n < list.size(); n += 7)
    {
        c.Check(Run(c, "zmq_names", {names->parts[0], Bytes(list.begin(), list.begin() + static_cast<long>(n))},
                    "names") != Status::Ok,
                "names truncated to " + std::to_string(n));
    }
    // Single- and multi-byte changes of the header, the values and the names list.
    for (int i = 0; i < iterations; ++i)
    {
        std::string h = header;
        Bytes vals = values;
        Bytes l = list;
        const std::size_t changes = 1 + Below(4);
        for (std::size_t k = 0; k < changes; ++k)
        {
            h[Below(h.size())] = static_cast<char>(RandomByte());
            vals[Below(vals.size())] = RandomByte();
            l[Below(l.size())] = RandomByte();
        }
        Run(c, "zmq_frame", {topic, ToBytes(h), values}, "mutated header");
        Run(c, "zmq_frame", {topic, ToBytes(header), vals}, "mutated values");
        if (i % 8 == 0)
        {
            Run(c, "zmq_names", {names->parts[0], l}, "mutated names");
        }
    }
    // Hostile and edge-case JSON, with the verdict each must get.
    const std::string deep = "{\"x\":" + std::string(100000, '[') + std::string(100000, ']') + "}";
    const std::string tail = header.substr(1);  // after '{'
    struct Case
    {
        std::string header;
        Status status;
    };
    const Case cases[] = {
        {deep.substr(0, 4000), Status::BadJson},
        {"{\"x\":" + std::string(20, '[') + std::string(20, ']') + "," + tail, Status::BadJson},
        {"{\"x\":" + std::string(15, '[') + std::string(15, ']') + "," + tail, Status::Ok},
        {"{\"x\":\"\\ud800\"," + tail, Status::BadJson},
        {"{\"x\":\"\\ud83d\\ude00\\u00e4\\n\\\"\"," + tail, Status::Ok},
        {"{\"x\":\"\x01\"," + tail, Status::BadJson},
        {"{\"x\":[1,2,{\"y\":null,\"z\":[true,false]}],\"w\":-0.5e-3," + tail, Status::Ok},
        {"{\"x\":01," + tail, Status::BadJson},
        {"{\"x\":1.," + tail, Status::BadJson},
        {"{\"x\":.5," + tail, Status::BadJson},
        {"{\"x\":+1," + tail, Status::BadJson},
        {"{\"x\":tru," + tail, Status::BadJson},
        {"{\"x\":1,," + tail, Status::BadJson},
        {" \t\r\n" + header + " \n", Status::Ok},
        {header + "x", Status::BadJson},
        {header + "{}", Status::BadJson},
        {"{\"subject\":\"MEDTalk\",\"frame\":1,\"t\":1e999,\"t0\":1.0,\"emotion\":\"happy\",\"intensity\":0.3}",
         Status::NonFiniteTime},
        {"{\"subject\":\"MEDTalk\",\"frame\":1,\"t\":0.1,\"t0\":1.0,\"emotion\":\"happy\",\"intensity\":1e39}",
         Status::NonFiniteValue},
        {"{\"subject\":\"MEDTalk\",\"frame\":2147483648,\"t\":0.1,\"t0\":1.0,\"emotion\":\"happy\",\"intensity\":0.3}",
         Status::WrongFieldType},
        {"{\"subject\":\"MEDTalk\",\"frame\":-0,\"t\":0,\"t0\":1,\"emotion\":\"happy\",\"intensity\":0}",
         Status::Ok},
        {"{\"subject\":\"MEDTalk\",\"frame\":1.0,\"t\":0.1,\"t0\":1.0,\"emotion\":\"happy\",\"intensity\":0.3}",
         Status::WrongFieldType},
        {"{\"subject\":\"\",\"frame\":1,\"t\":0.1,\"t0\":1.0,\"emotion\":\"happy\",\"intensity\":0.3}",
         Status::BadSubject},
        {"{\"subject\":\"" + std::string(64, 'x') + "\",\"frame\":1,\"t\":0.1,\"t0\":1.0,\"emotion\":\"happy\",\"intensity\":0.3}",
         Status::BadSubject},
        {"{\"subject\":null,\"frame\":1,\"t\":0.1,\"t0\":1.0,\"emotion\":\"happy\",\"intensity\":0.3}",
         Status::WrongFieldType},
        {"{}", Status::MissingField},
        {"", Status::BadJson},
        {std::string(70000, ' '), Status::Oversized},
    };
    for (const Case& k : cases)
    {
        c.Equal(medtalk::StatusName(frame_with(k.header)), medtalk::StatusName(k.status),
                "header '" + k.header.substr(0, 70) + "'");
    }
    // Names lists.
    std::string many = "[";
    for (int i = 0; i < 200000; ++i)
    {
        many += "\"a\",";
        if (i == 1000)
        {
            c.Equal(medtalk::StatusName(Run(c, "zmq_names", {names->parts[0], ToBytes(many + "\"a\"]")},
                                            "many")),
                    "BadNames", "a list of 1002 names");
        }
    }
    many += "\"a\"]";
    c.Equal(medtalk::StatusName(Run(c, "zmq_names", {names->parts[0], ToBytes(many)}, "huge")),
            "Oversized", "a names list over 64 KiB");
    std::string tabs = "[";
    for (int i = 0; i < medtalk::kNumControls; ++i)
    {
        tabs += std::string(i ? "," : "") + (i == 7 ? "\"a\\tb\"" : "\"n\"");
    }
    c.Equal(medtalk::StatusName(Run(c, "zmq_names", {names->parts[0], ToBytes(tabs + "]")}, "tab")),
            "BadString", "a name with a tab");
    // Random part counts and sizes.
    for (int i = 0; i < iterations / 4; ++i)
    {
        std::vector<Bytes> parts(Below(6));
        for (Bytes& part : parts)
        {
            part.resize(Below(800));
            for (std::uint8_t& b : part)
            {
                b = RandomByte();
            }
        }
        if (!parts.empty() && i % 2)
        {
            parts[0] = ToBytes(i % 4 == 1 ? "frame" : "names");
        }
        Run(c, "zmq_frame", parts, "random parts");
    }
}

void FuzzTrackerAndConnectionStrings(Checker& c, int iterations)
{
    medtalk::StreamTracker tracker(0.5);
    double now = 0.0;
    std::uint64_t calls = 0;
    for (int i = 0; i < iterations; ++i)
    {
        now += static_cast<double>(Below(1000)) / 1000.0 * (i % 50 == 0 ? 5.0 : 0.05);
        const auto index = static_cast<std::int32_t>(rng() & 0x7fffffff);
        const medtalk::StreamTracker::Verdict v = tracker.OnFrame(i % 3 ? index % 200 : index, now);
        ++calls;
        (void)v;
        (void)tracker.IsStale(now + 0.1);
    }
    c.Check(tracker.frames_accepted + tracker.frames_dropped == calls,
            "every frame is either accepted or dropped");
    const std::string alphabet = "transportbindendpointsubjec=;:/.0123456789 tcpzmqosc\x01\xff";
    for (int i = 0; i < iterations; ++i)
    {
        std::string text(Below(80), ' ');
        for (char& ch : text)
        {
            ch = alphabet[Below(alphabet.size())];
        }
        medtalk::ReceiverConfig config;
        std::string error;
        if (medtalk::ParseConnectionString(text, config, error))
        {
            medtalk::ReceiverConfig again;
            c.Check(medtalk::ParseConnectionString(medtalk::ToConnectionString(config), again, error)
                        && medtalk::ToConnectionString(again) == medtalk::ToConnectionString(config),
                    "accepted connection string '" + text + "' round-trips");
        }
    }
}
// The plugin's receive loop on a hostile datagram stream: every OSC vector, mutated, truncated or
// as it is, valid frames of the subject with random indices, random bytes, oversized datagrams,
// and a clock that jumps (silence, restarts). The loop must account for every datagram exactly
// once, and its reports must agree with its counters.
void FuzzReceiver(Checker& c, const std::vector<Vector>& vectors, int iterations)
{
    using medtalk::ReceiverEvent;
    std::vector<Bytes> seeds;
    Bytes frame;  // /medtalk/frame of the default subject, the receiver's
    for (const Vector& v : vectors)
    {
        if (v.kind.rfind("osc_", 0) == 0 && v.parts.size() == 1)
        {
            seeds.push_back(v.parts[0]);
        }
        if (v.name == "osc_frame_example")
        {
            frame = v.parts.at(0);
        }
    }
    if (!c.Check(!seeds.empty() && frame.size() == 912, "receiver fuzz: seeds found"))
    {
        return;
    }
    ScriptedUdp script;
    Heard heard;
    double clock = 0.0;
    medtalk::Receiver receiver(
        medtalk::ReceiverConfig(), heard,
        [&script](const medtalk::ReceiverConfig&,
                  std::string&) -> std::unique_ptr<medtalk::UdpSocket> {
            return std::make_unique<ScriptedUdpSocket>(script);
        },
        [&clock] { return clock; });
    std::uint64_t sent = 0;
    for (int i = 0; i < iterations; ++i)
    {
        Bytes datagram = i % 5 == 0 ? frame : seeds[Below(seeds.size())];
        switch (i % 5)
        {
            case 0:  // index bytes 204-207 (big-endian int32), negative a quarter of the time
                for (std::size_t k = 205; k < 208; ++k)
                {
                    datagram[k] = RandomByte();
                }
                datagram[204] = static_cast<std::uint8_t>(Below(4) == 0 ? 0x80 : 0);
                break;
            case 1: datagram[Below(datagram.size())] = RandomByte(); break;
            case 2: datagram.resize(Below(datagram.size() + 1)); break;
            case 3:
                datagram.resize(Below(1200));
                for (std::uint8_t& b : datagram)
                {
                    b = RandomByte();
                }
                break;
            default: break;  // the vector as it is
        }
        script.datagrams.push_back(std::move(datagram));
        ++sent;
        if (Below(50) == 0)
        {
            ++script.oversized;
            ++sent;
        }
        if (Below(8) == 0)
        {
            clock += Below(10) == 0 ? 0.3 + static_cast<double>(Below(2000)) / 1000.0
                                    : static_cast<double>(Below(20)) / 1000.0;
            receiver.Poll();
        }
    }
    receiver.Poll();
    const medtalk::ReceiverStats& stats = receiver.Stats();
    const medtalk::StreamTracker& tracker = receiver.Tracker();
    const std::uint64_t accounted = heard.frames.size() + tracker.frames_dropped + stats.rejected
        + stats.ignored + stats.other_subject_frames + stats.other_subject_names
        + stats.names_messages;
    c.Check(script.datagrams.empty() && script.oversized == 0,
            "receiver fuzz: every datagram read");
    c.Equal(accounted, sent, "receiver fuzz: datagrams handed over, dropped, rejected or ignored");
    c.Equal(heard.frames.size(), tracker.frames_accepted,
            "receiver fuzz: accepted frames handed over");
    std::uint64_t reasons = 0;
    std::uint64_t rejected = 0;
    for (const std::uint64_t count : stats.rejected_by_status)
    {
        reasons += count > 0;
        rejected += count;
    }
    c.Check(rejected == stats.rejected && heard.Count(ReceiverEvent::Rejected) == reasons
                && reasons > 1,
            "receiver fuzz: each reason for a reject reported once");
    const std::size_t started = heard.Count(ReceiverEvent::StreamStarted);
    c.Check(!heard.frames.empty() && started == tracker.restarts + 1
                && heard.Count(ReceiverEvent::Stale) <= started
                && heard.Count(ReceiverEvent::Stale) > 1,
            "receiver fuzz: one stream start per restart, one stale per silence, at most one a "
            "stream");
    const std::size_t changed = heard.Count(ReceiverEvent::NamesChanged);
    bool names_ok = heard.names.size() == changed || heard.names.size() == changed + 1;
    for (const std::vector<std::string>& names : heard.names)
    {
        names_ok = names_ok && names.size() == static_cast<std::size_t>(medtalk::kNumControls);
    }
    c.Check(names_ok && !heard.names.empty(),
            "receiver fuzz: 174 names published first, and again on each change only");
}
}  // namespace

int main(int argc, char** argv)
{
    if (argc < 2 || argc > 3)
    {
        std::fprintf(stderr, "usage: %s VECTORS_DIR [ITERATIONS]\n", argv[0]);
        return 2;
    }
    const int iterations = argc == 3 ? std::atoi(argv[2]) : 20000;
    Checker c;
    const std::vector<Vector> vectors = LoadVectors(argv[1]);
    FuzzOscSeeds(c, vectors, iterations);
    FuzzRandomDatagrams(c, iterations);
    FuzzZmq(c, vectors, iterations);
    FuzzTrackerAndConnectionStrings(c, iterations);
    FuzzReceiver(c, vectors, iterations);
    return c.Finish("fuzz_tests");
}
