// libzmq (ZeroMQ, MPL-2.0) as an external module, used by MEDTalkLiveLink only when its ZeroMQ
// switch is on. Nothing is bundled: put the headers and libraries of your platform here:
//
//   Win64:  ThirdParty/libzmq/include/zmq.h, ThirdParty/libzmq/Win64/libzmq.lib and libzmq.dll
//           (e.g. from vcpkg: vcpkg install zeromq:x64-windows; rename the versioned files)
//   Mac:    ThirdParty/libzmq/include/zmq.h, ThirdParty/libzmq/Mac/libzmq.dylib (brew install zeromq)
//   Linux:  ThirdParty/libzmq/include/zmq.h, ThirdParty/libzmq/Linux/libzmq.so (copy them from the
//           system's libzmq3-dev: /usr/include/zmq.h, /usr/lib/x86_64-linux-gnu/libzmq.so.5; the
//           engine builds against its own sysroot, so the system include folder is not used)
//
// The plugin calls only libzmq's C API (zmq.h), so the library's own C++ runtime does not matter.

using System.IO;
using UnrealBuildTool;

public class libzmq : ModuleRules
{
	public libzmq(ReadOnlyTargetRules Target) : base(Target)
	{
		Type = ModuleType.External;
		string IncludeDir = Path.Combine(ModuleDirectory, "include");

		if (Target.Platform == UnrealTargetPlatform.Win64)
		{
			string LibDir = Path.Combine(ModuleDirectory, "Win64");
			PublicSystemIncludePaths.Add(IncludeDir);
			PublicAdditionalLibraries.Add(Path.Combine(LibDir, "libzmq.lib"));
			PublicDelayLoadDLLs.Add("libzmq.dll");
			RuntimeDependencies.Add("$(BinaryOutputDir)/libzmq.dll", Path.Combine(LibDir, "libzmq.dll"));
		}
		else if (Target.Platform == UnrealTargetPlatform.Mac)
		{
			string Dylib = Path.Combine(ModuleDirectory, "Mac", "libzmq.dylib");
			PublicSystemIncludePaths.Add(IncludeDir);
			PublicAdditionalLibraries.Add(Dylib);
			RuntimeDependencies.Add("$(BinaryOutputDir)/libzmq.dylib", Dylib);
		}
		else if (Target.Platform == UnrealTargetPlatform.Linux)
		{
			string So = Path.Combine(ModuleDirectory, "Linux", "libzmq.so");
			PublicSystemIncludePaths.Add(IncludeDir);
			PublicAdditionalLibraries.Add(So);
			RuntimeDependencies.Add("$(BinaryOutputDir)/libzmq.so", So);
		}
	}
}
