// MEDTalk Live Link source: OSC over UDP always; ZeroMQ (libzmq) when built with the switch below.

using System;
using UnrealBuildTool;

public class MEDTalkLiveLink : ModuleRules
{
	// Build switch for the ZeroMQ transport. Off by default: OSC over UDP needs nothing outside the
	// engine. Turn it on here, or set the environment variable MEDTALK_WITH_ZMQ=1 for the build,
	// after putting libzmq where Source/ThirdParty/libzmq/libzmq.Build.cs looks for it.
	private const bool WithZeroMQ = false;

	public MEDTalkLiveLink(ReadOnlyTargetRules Target) : base(Target)
	{
		PCHUsage = PCHUsageMode.UseExplicitOrSharedPCHs;
		CppStandard = CppStandardVersion.Cpp17;

		PublicDependencyModuleNames.AddRange(new string[]
		{
			"Core",
			"CoreUObject",
			"Engine",
			"LiveLinkInterface",
		});

		PrivateDependencyModuleNames.AddRange(new string[]
		{
			"Networking",
			"Sockets",
			"Slate",
			"SlateCore",
		});

		bool bWithZeroMQ = WithZeroMQ || Environment.GetEnvironmentVariable("MEDTALK_WITH_ZMQ") == "1";
		PublicDefinitions.Add("WITH_MEDTALK_ZMQ=" + (bWithZeroMQ ? "1" : "0"));
		if (bWithZeroMQ)
		{
			PrivateDependencyModuleNames.Add("libzmq");
		}
	}
}
