// The MetaHuman face-board controls of a MEDTalk Live frame, in rig order (docs/protocol.md).
//
// Plain C++17 with no engine types, like the rest of the receiver code (see MEDTalkPacket.h).

#pragma once

namespace medtalk
{
inline constexpr int kNumControls = 174;  // face-board controls per frame, rig order

// The 174 control names in rig order (medtalk_core/data/metahuman_controls_174.txt): the
// subject's property names until /medtalk/names arrives.
extern const char* const kControlNames[kNumControls];

}  // namespace medtalk
