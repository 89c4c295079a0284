// A Control Rig node that applies a MEDTalk Live Link subject to a MetaHuman face board.

using UnrealBuildTool;

public class MEDTalkLiveLinkRig : ModuleRules
{
	public MEDTalkLiveLinkRig(ReadOnlyTargetRules Target) : base(Target)
	{
		PCHUsage = PCHUsageMode.UseExplicitOrSharedPCHs;

		PublicDependencyModuleNames.AddRange(new string[]
		{
			"Core",
			"CoreUObject",
			"Engine",
			"ControlRig",
			"RigVM",
			"LiveLinkInterface",
		});
	}
}
