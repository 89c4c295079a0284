// A MEDTalk Live receiver's bookkeeping for one subject (docs/protocol.md).
//
// Plain C++17 with no engine types, like the rest of the receiver code (see MEDTalkPacket.h).

#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace medtalk
{
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

    // stale_after_s: seconds without a frame after which the subject is stale.
    explicit StreamTracker(double stale_after_s);

    // The names to publish as the subject's property names: the built-in 174 until a names
    // message arrives, then the last one received.
    const std::vector<std::string>& PropertyNames() const { return names_; }

    // Adopt `names`; true when they differ from the current ones (publish static data again).
    bool UpdateNames(const std::vector<std::string>& names);

    // True once, until the static data (property names) has been published, and again after
    // UpdateNames changed them.
    bool TakeStaticDataDue();

    // Books a decoded frame of the subject with frame index `index` (>= 0) that arrived at
    // now_s (s), and says whether to push it.
    Verdict OnFrame(std::int32_t index, double now_s);

    // Frames have arrived, and none for longer than stale_after_s. Reset by the next frame.
    bool IsStale(double now_s) const;
    bool HasFrames() const { return has_frames_; }
    // Seconds from the last accepted frame's arrival to now_s (s).
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
