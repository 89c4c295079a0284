// The MEDTalkLiveLinkRig runtime module: its Control Rig node is found by reflection.

#include "Modules/ModuleManager.h"

IMPLEMENT_MODULE(FDefaultModuleImpl, MEDTalkLiveLinkRig)
