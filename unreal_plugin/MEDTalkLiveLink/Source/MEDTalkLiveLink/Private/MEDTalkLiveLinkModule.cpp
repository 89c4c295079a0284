// The MEDTalkLiveLink runtime module. Live Link finds the source factory (a UClass) by reflection,
// so the module needs no startup code.

#include "Modules/ModuleManager.h"

IMPLEMENT_MODULE(FDefaultModuleImpl, MEDTalkLiveLink)
