"""The command table: every command's flags, arguments, help and handler.

Only data: a handler is named "module:function" and imported when its command runs, so `wharf ps`
does not pay for `build` or `cp`. The help, the parser and the shell completion all read this table.
"""

from __future__ import annotations

from wharf.cli.flags import BOOL, INT, LIST, STR, Command, Flag

F = Flag

_FORMAT_PS = F("--format", STR, "Format output using a custom template: 'table', 'table TEMPLATE', 'json', "
                                "or a Go template")
_TIME_STOP = F("-t --timeout", INT, "Seconds to wait before killing the container")
_SIGNAL_STOP = F("-s --signal", STR, "Signal to send to the container")
_FILTER = F("-f --filter", LIST, "Provide filter values (e.g. 'dangling=true')")
_FORCE_PRUNE = F("-f --force", BOOL, "Do not prompt for confirmation")
_PRUNE_FILTER = F("--filter", LIST, "Provide filter values (e.g. 'until=<timestamp>')")
_PLATFORM = F("--platform", STR, "Set platform if server is multi-platform capable")
_QUIET = F("-q --quiet", BOOL, "Only display IDs")

CONTAINER_CONFIG_FLAGS = [
    F("--add-host", LIST, "Add a custom host-to-IP mapping (host:ip)"),
    F("-a --attach", LIST, "Attach to STDIN, STDOUT or STDERR"),
    F("--cap-add", LIST, "Add Linux capabilities"),
    F("--cap-drop", LIST, "Drop Linux capabilities"),
    F("--cgroup-parent", STR, "Optional parent cgroup for the container"),
    F("--cgroupns", STR, "Cgroup namespace to use (host|private)"),
    F("--cidfile", STR, "Write the container ID to the file"),
    F("--cpu-shares -c", INT, "CPU shares (relative weight)"),
    F("--cpus", STR, "Number of CPUs"),
    F("--cpuset-cpus", STR, "CPUs in which to allow execution (0-3, 0,1)"),
    F("--cpu-period", INT, "Limit CPU CFS (Completely Fair Scheduler) period"),
    F("--cpu-quota", INT, "Limit CPU CFS (Completely Fair Scheduler) quota"),
    F("--device", LIST, "Add a host device to the container"),
    F("--dns", LIST, "Set custom DNS servers"),
    F("--dns-option", LIST, "Set DNS options"),
    F("--dns-search", LIST, "Set custom DNS search domains"),
    F("--domainname", STR, "Container NIS domain name"),
    F("--entrypoint", STR, "Overwrite the default ENTRYPOINT of the image"),
    F("-e --env", LIST, "Set environment variables"),
    F("--env-file", LIST, "Read in a file of environment variables"),
    F("--expose", LIST, "Expose a port or a range of ports"),
    F("--group-add", LIST, "Add additional groups to join"),
    F("--health-cmd", STR, "Command to run to check health"),
    F("--health-interval", STR, "Time between running the check (ms|s|m|h) (default 0s)"),
    F("--health-retries", INT, "Consecutive failures needed to report unhealthy"),
    F("--health-start-period", STR, "Start period for the container to initialize before starting "
                                     "health-retries countdown (ms|s|m|h) (default 0s)"),
    F("--health-start-interval", STR, "Time between running the check during the start period"),
    F("--health-timeout", STR, "Maximum time to allow one check to run (ms|s|m|h) (default 0s)"),
    F("-h --hostname", STR, "Container host name"),
    F("--init", BOOL, "Run an init inside the container that forwards signals and reaps processes"),
    F("-i --interactive", BOOL, "Keep STDIN open even if not attached"),
    F("--ip", STR, "IPv4 address (e.g., 172.30.100.104)"),
    F("--ipc", STR, "IPC mode to use"),
    F("-l --label", LIST, "Set meta data on a container"),
    F("--label-file", LIST, "Read in a line delimited file of labels"),
    F("--log-driver", STR, "Logging driver for the container"),
    F("--log-opt", LIST, "Log driver options"),
    F("-m --memory", STR, "Memory limit"),
    F("--memory-reservation", STR, "Memory soft limit"),
    F("--memory-swap", STR, "Swap limit equal to memory plus swap: '-1' to enable unlimited swap"),
    F("--mount", LIST, "Attach a filesystem mount to the container"),
    F("--name", STR, "Assign a name to the container"),
    F("--network --net", STR, "Connect a container to a network"),
    F("--network-alias --net-alias", LIST, "Add network-scoped alias for the container"),
    F("--no-healthcheck", BOOL, "Disable any container-specified HEALTHCHECK"),
    F("--oom-kill-disable", BOOL, "Disable OOM Killer"),
    F("--pid", STR, "PID namespace to use"),
    F("--pids-limit", INT, "Tune container pids limit (set -1 for unlimited)"),
    F("--platform", STR, "Set platform if server is multi-platform capable"),
    F("--privileged", BOOL, "Give extended privileges to this container"),
    F("-p --publish", LIST, "Publish a container's port(s) to the host"),
    F("-P --publish-all", BOOL, "Publish all exposed ports to random ports"),
    F("--pull", STR, 'Pull image before creating ("always", "missing", "never")', "missing"),
    F("-q --quiet", BOOL, "Suppress the pull output"),
    F("--read-only", BOOL, "Mount the container's root filesystem as read only"),
    F("--restart", STR, "Restart policy to apply when a container exits", "no"),
    F("--rm", BOOL, "Automatically remove the container and its associated anonymous volumes when it exits"),
    F("--runtime", STR, "Runtime to use for this container"),
    F("--security-opt", LIST, "Security Options"),
    F("--shm-size", STR, "Size of /dev/shm"),
    F("--stop-signal", STR, "Signal to stop the container"),
    F("--stop-timeout", INT, "Timeout (in seconds) to stop a container"),
    F("--sysctl", LIST, "Sysctl options"),
    F("--tmpfs", LIST, "Mount a tmpfs directory"),
    F("-t --tty", BOOL, "Allocate a pseudo-TTY"),
    F("--ulimit", LIST, "Ulimit options"),
    F("-u --user", STR, "Username or UID (format: <name|uid>[:<group|gid>])"),
    F("--userns", STR, "User namespace to use"),
    F("--uts", STR, "UTS namespace to use"),
    F("-v --volume", LIST, "Bind mount a volume"),
    F("--volumes-from", LIST, "Mount volumes from the specified container(s)"),
    F("-w --workdir", STR, "Working directory inside the container"),
]

RUN_ONLY_FLAGS = [
    F("-d --detach", BOOL, "Run container in background and print container ID"),
    F("--detach-keys", STR, "Override the key sequence for detaching a container"),
    F("--sig-proxy", BOOL, "Proxy received signals to the process", True),
]

_CONTAINER_COMMANDS = [
    Command("run", "run:run", "Create and run a new container from an image",
            "[OPTIONS] IMAGE [COMMAND] [ARG...]", CONTAINER_CONFIG_FLAGS + RUN_ONLY_FLAGS, 1, None, False,
            "  wharf run --rm busybox echo hello\n  wharf run -it --name box busybox sh\n"
            "  wharf run -d -p 8080:80 -v data:/data --restart unless-stopped busybox httpd -f"),
    Command("create", "run:create", "Create a new container", "[OPTIONS] IMAGE [COMMAND] [ARG...]",
            CONTAINER_CONFIG_FLAGS, 1, None, False,
            "  wharf create --name box -e A=1 busybox sleep 100\n  wharf start box"),
    Command("start", "containers:start", "Start one or more stopped containers",
            "[OPTIONS] CONTAINER [CONTAINER...]",
            [F("-a --attach", BOOL, "Attach STDOUT/STDERR and forward signals"),
             F("-i --interactive", BOOL, "Attach container's STDIN"),
             F("--detach-keys", STR, "Override the key sequence for detaching a container")], 1, None,
            examples="  wharf start box\n  wharf start -ai box"),
    Command("stop", "containers:stop", "Stop one or more running containers", "[OPTIONS] CONTAINER [CONTAINER...]",
            [_SIGNAL_STOP, _TIME_STOP, F("--time", INT, "Seconds to wait before killing the container")], 1, None,
            examples="  wharf stop -t 2 box"),
    Command("restart", "containers:restart", "Restart one or more containers", "[OPTIONS] CONTAINER [CONTAINER...]",
            [_SIGNAL_STOP, _TIME_STOP, F("--time", INT, "Seconds to wait before killing the container")], 1, None,
            examples="  wharf restart box"),
    Command("kill", "containers:kill", "Kill one or more running containers", "[OPTIONS] CONTAINER [CONTAINER...]",
            [F("-s --signal", STR, "Signal to send to the container")], 1, None,
            examples="  wharf kill box\n  wharf kill -s HUP box"),
    Command("pause", "containers:pause", "Pause all processes within one or more containers",
            "CONTAINER [CONTAINER...]", [], 1, None, examples="  wharf pause box"),
    Command("unpause", "containers:unpause", "Unpause all processes within one or more containers",
            "CONTAINER [CONTAINER...]", [], 1, None, examples="  wharf unpause box"),
    Command("rm", "containers:rm", "Remove one or more containers", "[OPTIONS] CONTAINER [CONTAINER...]",
            [F("-f --force", BOOL, "Force the removal of a running container (uses SIGKILL)"),
             F("-l --link", BOOL, "Remove the specified link"),
             F("-v --volumes", BOOL, "Remove anonymous volumes associated with the container")], 1, None,
            examples="  wharf rm -f box\n  wharf rm $(wharf ps -aq)"),
    Command("ps", "containers:ps", "List containers", "[OPTIONS]",
            [F("-a --all", BOOL, "Show all containers (default shows just running)"), _FILTER, _FORMAT_PS,
             F("-n --last", INT, "Show n last created containers (includes all states)", -1),
             F("-l --latest", BOOL, "Show the latest created container (includes all states)"),
             F("--no-trunc", BOOL, "Don't truncate output"), _QUIET,
             F("-s --size", BOOL, "Display total file sizes")],
            examples="  wharf ps -a\n  wharf ps -q --filter status=exited\n"
                     "  wharf ps --format 'table {{.Names}}\\t{{.Status}}'\n  wharf ps --format '{{json .}}'"),
    Command("logs", "containers:logs", "Fetch the logs of a container", "[OPTIONS] CONTAINER",
            [F("--details", BOOL, "Show extra details provided to logs"),
             F("-f --follow", BOOL, "Follow log output"),
             F("--since", STR, "Show logs since timestamp or relative (e.g. 42m for 42 minutes)"),
             F("-n --tail", STR, "Number of lines to show from the end of the logs", "all"),
             F("-t --timestamps", BOOL, "Show timestamps"),
             F("--until", STR, "Show logs before a timestamp or relative (e.g. 42m for 42 minutes)")], 1, 1,
            examples="  wharf logs -f --tail 10 box\n  wharf logs --since 5m box"),
    Command("exec", "exec:exec", "Execute a command in a running container",
            "[OPTIONS] CONTAINER COMMAND [ARG...]",
            [F("-d --detach", BOOL, "Detached mode: run command in the background"),
             F("--detach-keys", STR, "Override the key sequence for detaching a container"),
             F("-e --env", LIST, "Set environment variables"),
             F("--env-file", LIST, "Read in a file of environment variables"),
             F("-i --interactive", BOOL, "Keep STDIN open even if not attached"),
             F("--privileged", BOOL, "Give extended privileges to the command"),
             F("-t --tty", BOOL, "Allocate a pseudo-TTY"),
             F("-u --user", STR, "Username or UID (format: \"<name|uid>[:<group|gid>]\")"),
             F("-w --workdir", STR, "Working directory inside the container")], 2, None, False,
            "  wharf exec box ls /\n  wharf exec -it box sh\n  wharf exec -e A=1 -w /tmp box env"),
    Command("attach", "attach:attach", "Attach local standard input, output, and error streams to a running "
            "container", "[OPTIONS] CONTAINER",
            [F("--detach-keys", STR, "Override the key sequence for detaching a container"),
             F("--no-stdin", BOOL, "Do not attach STDIN"),
             F("--sig-proxy", BOOL, "Proxy all received signals to the process", True)], 1, 1,
            examples="  wharf attach box   (detach with ctrl-p ctrl-q)"),
    Command("wait", "containers:wait", "Block until one or more containers stop, then print their exit codes",
            "CONTAINER [CONTAINER...]", [], 1, None, examples="  wharf wait box"),
    Command("inspect", "inspect:inspect", "Return low-level information on Docker objects",
            "[OPTIONS] NAME|ID [NAME|ID...]",
            [F("-f --format", STR, "Format output using a custom template"),
             F("-s --size", BOOL, "Display total file sizes if the type is container"),
             F("--type", STR, "Only inspect objects of the given type")], 1, None,
            examples="  wharf inspect box\n  wharf inspect -f '{{.State.Status}}' box\n"
                     "  wharf inspect -f '{{json .Config}}' box"),
    Command("top", "containers:top", "Display the running processes of a container",
            "CONTAINER [ps OPTIONS]", [], 1, None, False, "  wharf top box\n  wharf top box -o pid,comm"),
    Command("stats", "stats:stats", "Display a live stream of container(s) resource usage statistics",
            "[OPTIONS] [CONTAINER...]",
            [F("-a --all", BOOL, "Show all containers (default shows just running)"), _FORMAT_PS,
             F("--no-stream", BOOL, "Disable streaming stats and only pull the first result"),
             F("--no-trunc", BOOL, "Do not truncate output")], 0, None,
            examples="  wharf stats\n  wharf stats --no-stream --format '{{.Name}} {{.MemUsage}}'"),
    Command("port", "containers:port", "List port mappings or a specific mapping for the container",
            "CONTAINER [PRIVATE_PORT[/PROTO]]", [], 1, 2, examples="  wharf port web\n  wharf port web 80/tcp"),
    Command("rename", "containers:rename", "Rename a container", "CONTAINER NEW_NAME", [], 2, 2,
            examples="  wharf rename box newbox"),
    Command("update", "containers:update", "Update configuration of one or more containers",
            "[OPTIONS] CONTAINER [CONTAINER...]",
            [F("--cpus", STR, "Number of CPUs"), F("--cpu-shares -c", INT, "CPU shares (relative weight)"),
             F("--cpuset-cpus", STR, "CPUs in which to allow execution (0-3, 0,1)"),
             F("--cpu-period", INT, "Limit CPU CFS period"), F("--cpu-quota", INT, "Limit CPU CFS quota"),
             F("-m --memory", STR, "Memory limit"), F("--memory-reservation", STR, "Memory soft limit"),
             F("--memory-swap", STR, "Swap limit equal to memory plus swap"),
             F("--pids-limit", INT, "Tune container pids limit (set -1 for unlimited)"),
             F("--restart", STR, "Restart policy to apply when a container exits")], 1, None,
            examples="  wharf update -m 64m --restart on-failure:3 box"),
    Command("cp", "cp:cp", "Copy files/folders between a container and the local filesystem",
            "[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\twharf cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH",
            [F("-a --archive", BOOL, "Archive mode (copy all uid/gid information)"),
             F("-L --follow-link", BOOL, "Always follow symbol link in SRC_PATH"),
             F("-q --quiet", BOOL, "Suppress progress output during copy")], 2, 2,
            examples="  wharf cp box:/etc/hostname .\n  wharf cp ./file box:/tmp/\n  wharf cp box:/etc - | tar t"),
    Command("diff", "containers:diff", "Inspect changes to files or directories on a container's filesystem",
            "CONTAINER", [], 1, 1, examples="  wharf diff box"),
    Command("commit", "images:commit", "Create a new image from a container's changes",
            "[OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
            [F("-a --author", STR, "Author (e.g., \"John Hannibal Smith <hannibal@a-team.com>\")"),
             F("-c --change", LIST, "Apply Dockerfile instruction to the created image"),
             F("-m --message", STR, "Commit message"),
             F("-p --pause", BOOL, "Pause container during commit", True)], 1, 2,
            examples="  wharf commit box myimage:v1\n  wharf commit -c 'CMD [\"sh\"]' box myimage"),
    Command("export", "containers:export", "Export a container's filesystem as a tar archive", "[OPTIONS] CONTAINER",
            [F("-o --output", STR, "Write to a file, instead of STDOUT")], 1, 1,
            examples="  wharf export box > box.tar\n  wharf export -o box.tar box"),
]

_IMAGE_COMMANDS = [
    Command("images", "images:images", "List images", "[OPTIONS] [REPOSITORY[:TAG]]",
            [F("-a --all", BOOL, "Show all images (default hides intermediate images)"),
             F("--digests", BOOL, "Show digests"), _FILTER, _FORMAT_PS,
             F("--no-trunc", BOOL, "Don't truncate output"), _QUIET, F("--tree", BOOL, "List multi-platform images "
                                                                                  "as a tree (EXPERIMENTAL)")],
            0, 1, examples="  wharf images\n  wharf images -q busybox\n"
                           "  wharf images --format '{{.Repository}}:{{.Tag}} {{.Size}}'"),
    Command("pull", "images:pull", "Download an image from a registry", "[OPTIONS] NAME[:TAG|@DIGEST]",
            [F("-a --all-tags", BOOL, "Download all tagged images in the repository"), _PLATFORM,
             F("-q --quiet", BOOL, "Suppress verbose output")], 1, 1,
            examples="  wharf pull busybox\n  wharf pull localhost:5000/app:1.0"),
    Command("push", "images:push", "Upload an image to a registry", "[OPTIONS] NAME[:TAG]",
            [F("-a --all-tags", BOOL, "Push all tags of an image to the repository"), _PLATFORM,
             F("-q --quiet", BOOL, "Suppress verbose output")], 1, 1,
            examples="  wharf push localhost:5000/app:1.0"),
    Command("build", "build:build", "Build an image from a Dockerfile", "[OPTIONS] PATH | URL | -",
            [F("--build-arg", LIST, "Set build-time variables"), F("-f --file", STR, "Name of the Dockerfile"),
             F("--label", LIST, "Set metadata for an image"), F("--no-cache", BOOL, "Do not use cache when "
                                                                                    "building the image"),
             F("--pull", BOOL, "Always attempt to pull a newer version of the image"),
             F("-q --quiet", BOOL, "Suppress the build output and print image ID on success"),
             F("--rm", BOOL, "Remove intermediate containers after a successful build", True),
             F("--force-rm", BOOL, "Always remove intermediate containers"),
             F("-t --tag", LIST, "Name and optionally a tag in the \"name:tag\" format"),
             F("--target", STR, "Set the target build stage to build"), _PLATFORM,
             F("--network", STR, "Set the networking mode for the RUN instructions during build"),
             F("--iidfile", STR, "Write the image ID to the file")], 1, 1,
            examples="  wharf build -t app:1 .\n  wharf build -f Dockerfile.dev --build-arg V=2 --target dev ."),
    Command("tag", "images:tag", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
            "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]", [], 2, 2, examples="  wharf tag busybox localhost:5000/bb:1"),
    Command("rmi", "images:rmi", "Remove one or more images", "[OPTIONS] IMAGE [IMAGE...]",
            [F("-f --force", BOOL, "Force removal of the image"),
             F("--no-prune", BOOL, "Do not delete untagged parents")], 1, None, examples="  wharf rmi app:1"),
    Command("history", "images:history", "Show the history of an image", "[OPTIONS] IMAGE",
            [F("--format", STR, "Format output using a custom template"),
             F("-H --human", BOOL, "Print sizes and dates in human readable format", True),
             F("--no-trunc", BOOL, "Don't truncate output"), _QUIET], 1, 1,
            examples="  wharf history busybox"),
    Command("save", "images:save", "Save one or more images to a tar archive (streamed to STDOUT by default)",
            "[OPTIONS] IMAGE [IMAGE...]", [F("-o --output", STR, "Write to a file, instead of STDOUT"),
                                           _PLATFORM], 1, None,
            examples="  wharf save -o busybox.tar busybox\n  wharf save busybox | gzip > bb.tgz"),
    Command("load", "images:load", "Load an image from a tar archive or STDIN", "[OPTIONS]",
            [F("-i --input", STR, "Read from tar archive file, instead of STDIN"),
             F("-q --quiet", BOOL, "Suppress the load output"), _PLATFORM],
            examples="  wharf load -i busybox.tar\n  wharf load < busybox.tar"),
    Command("import", "images:import_image", "Import the contents from a tarball to create a filesystem image",
            "[OPTIONS] file|URL|- [REPOSITORY[:TAG]]",
            [F("-c --change", LIST, "Apply Dockerfile instruction to the created image"),
             F("-m --message", STR, "Set commit message for imported image"), _PLATFORM], 1, 2,
            examples="  wharf import rootfs.tar myimage:1\n  cat rootfs.tar | wharf import -c 'CMD [\"sh\"]' - img"),
    Command("login", "auth:login", "Authenticate to a registry", "[OPTIONS] [SERVER]",
            [F("-p --password", STR, "Password"), F("--password-stdin", BOOL, "Take the password from stdin"),
             F("-u --username", STR, "Username")], 0, 1,
            examples="  wharf login -u me localhost:5000\n  echo $PW | wharf login -u me --password-stdin reg:5000"),
    Command("logout", "auth:logout", "Log out from a registry", "[SERVER]", [], 0, 1,
            examples="  wharf logout localhost:5000"),
]

_SYSTEM_COMMANDS = [
    Command("version", "system:version", "Show the Wharf version information", "[OPTIONS]",
            [F("-f --format", STR, "Format output using a custom template")],
            examples="  wharf version\n  wharf version -f '{{.Server.Version}}'"),
    Command("info", "system:info", "Display system-wide information", "[OPTIONS]",
            [F("-f --format", STR, "Format output using a custom template")],
            examples="  wharf info\n  wharf info -f '{{.NCPU}}'"),
    Command("events", "system:events", "Get real time events from the server", "[OPTIONS]",
            [_FILTER, F("--format", STR, "Format output using a custom template"),
             F("--since", STR, "Show all events created since timestamp"),
             F("--until", STR, "Stream events until this timestamp")],
            examples="  wharf events --since 10m --until 0s\n  wharf events -f type=container --format '{{json .}}'"),
    Command("completion", "completion:completion", "Generate the autocompletion script for the specified shell",
            "bash|zsh", [], 1, 1,
            examples="  source <(wharf completion bash)\n  wharf completion zsh > \"${fpath[1]}/_wharf\""),
]

_GROUP_COMMANDS = [
    Command("volume create", "volumes:create", "Create a volume", "[OPTIONS] [VOLUME]",
            [F("-d --driver", STR, "Specify volume driver name", "local"), F("--label", LIST, "Set metadata for a "
                                                                                             "volume"),
             F("-o --opt", LIST, "Set driver specific options"), F("--name", STR, "Specify volume name")], 0, 1,
            examples="  wharf volume create data"),
    Command("volume ls", "volumes:ls", "List volumes", "[OPTIONS]",
            [_FILTER, F("--format", STR, "Format output using a custom template"),
             F("-q --quiet", BOOL, "Only display volume names")], aliases=("list",),
            examples="  wharf volume ls -q"),
    Command("volume inspect", "volumes:inspect", "Display detailed information on one or more volumes",
            "[OPTIONS] VOLUME [VOLUME...]", [F("-f --format", STR, "Format output using a custom template")], 1,
            None, examples="  wharf volume inspect -f '{{.Mountpoint}}' data"),
    Command("volume rm", "volumes:rm", "Remove one or more volumes", "[OPTIONS] VOLUME [VOLUME...]",
            [F("-f --force", BOOL, "Force the removal of one or more volumes")], 1, None, aliases=("remove",),
            examples="  wharf volume rm data"),
    Command("volume prune", "volumes:prune", "Remove unused local volumes", "[OPTIONS]",
            [F("-a --all", BOOL, "Remove all unused volumes, not just anonymous ones"), _PRUNE_FILTER, _FORCE_PRUNE],
            examples="  wharf volume prune -f"),
    Command("network create", "networks:create", "Create a network", "[OPTIONS] NETWORK",
            [F("-d --driver", STR, "Driver to manage the Network", "bridge"),
             F("--internal", BOOL, "Restrict external access to the network"),
             F("--attachable", BOOL, "Enable manual container attachment"),
             F("--label", LIST, "Set metadata on a network"), F("-o --opt", LIST, "Set driver specific options"),
             F("--subnet", LIST, "Subnet in CIDR format that represents a network segment"),
             F("--gateway", LIST, "IPv4 or IPv6 Gateway for the master subnet"),
             F("--ip-range", LIST, "Allocate container ip from a sub-range"),
             F("--ipv6", BOOL, "Enable or disable IPv6 networking")], 1, 1,
            examples="  wharf network create --subnet 10.88.0.0/24 mynet"),
    Command("network ls", "networks:ls", "List networks", "[OPTIONS]",
            [_FILTER, F("--format", STR, "Format output using a custom template"),
             F("--no-trunc", BOOL, "Do not truncate the output"), F("-q --quiet", BOOL, "Only display network IDs")],
            aliases=("list",), examples="  wharf network ls"),
    Command("network inspect", "networks:inspect", "Display detailed information on one or more networks",
            "[OPTIONS] NETWORK [NETWORK...]", [F("-f --format", STR, "Format output using a custom template"),
                                              F("-v --verbose", BOOL, "Verbose output for diagnostics")], 1, None,
            examples="  wharf network inspect -f '{{.IPAM.Config}}' mynet"),
    Command("network rm", "networks:rm", "Remove one or more networks", "NETWORK [NETWORK...]",
            [F("-f --force", BOOL, "Do not error if the network does not exist")], 1, None, aliases=("remove",),
            examples="  wharf network rm mynet"),
    Command("network prune", "networks:prune", "Remove all unused networks", "[OPTIONS]", [_PRUNE_FILTER, _FORCE_PRUNE],
            examples="  wharf network prune -f"),
    Command("network connect", "networks:connect", "Connect a container to a network",
            "[OPTIONS] NETWORK CONTAINER",
            [F("--alias", LIST, "Add network-scoped alias for the container"), F("--ip", STR, "IPv4 address"),
             F("--ip6", STR, "IPv6 address")], 2, 2, examples="  wharf network connect --alias db mynet box"),
    Command("network disconnect", "networks:disconnect", "Disconnect a container from a network",
            "[OPTIONS] NETWORK CONTAINER", [F("-f --force", BOOL, "Force the container to disconnect from a "
                                                                  "network")], 2, 2,
            examples="  wharf network disconnect mynet box"),
    Command("system df", "system:df", "Show docker disk usage", "[OPTIONS]",
            [F("--format", STR, "Format output using a custom template"),
             F("-v --verbose", BOOL, "Show detailed information on space usage")], examples="  wharf system df"),
    Command("system prune", "system:prune", "Remove unused data", "[OPTIONS]",
            [F("-a --all", BOOL, "Remove all unused images not just dangling ones"), _PRUNE_FILTER, _FORCE_PRUNE,
             F("--volumes", BOOL, "Prune anonymous volumes")], examples="  wharf system prune -f"),
    Command("system bootstrap", "bootstrap:bootstrap", "Make a local busybox image from the host's busybox-static "
            "(no registry)", "[OPTIONS] [REPOSITORY[:TAG]]",
            [F("--busybox", STR, "The static busybox binary to use", "/bin/busybox")], 0, 1,
            examples="  wharf system bootstrap\n  wharf system bootstrap mybox:1"),
    Command("container prune", "containers:prune", "Remove all stopped containers", "[OPTIONS]",
            [_PRUNE_FILTER, _FORCE_PRUNE], examples="  wharf container prune -f"),
    Command("image prune", "images:prune", "Remove unused images", "[OPTIONS]",
            [F("-a --all", BOOL, "Remove all unused images, not just dangling ones"), _PRUNE_FILTER, _FORCE_PRUNE],
            examples="  wharf image prune -af"),
]

# `wharf container ls` = `wharf ps`, `wharf image ls` = `wharf images`, …: (group, name, top-level command)
_ALIASES = [
    ("container", "ls", "ps"), ("container", "list", "ps"), ("container", "rm", "rm"),
    ("image", "ls", "images"), ("image", "list", "images"), ("image", "rm", "rmi"), ("image", "remove", "rmi"),
    ("image", "inspect", "inspect"), ("container", "inspect", "inspect"),
    ("system", "info", "info"), ("system", "events", "events"),
]
_CONTAINER_GROUP = ("attach", "commit", "cp", "create", "diff", "exec", "export", "kill", "logs", "pause", "port",
                    "rename", "restart", "run", "start", "stats", "stop", "top", "unpause", "update", "wait")
_IMAGE_GROUP = ("build", "history", "import", "load", "pull", "push", "save", "tag")

GROUPS = {
    "container": "Manage containers", "image": "Manage images", "network": "Manage networks",
    "volume": "Manage volumes", "system": "Manage Wharf",
}

TOP_LEVEL = {command.path: command for command in _CONTAINER_COMMANDS + _IMAGE_COMMANDS + _SYSTEM_COMMANDS}

COMMON = ("run", "exec", "ps", "build", "pull", "push", "images", "login", "logout", "version", "info")


def _group_table() -> dict[str, Command]:
    table = {command.path: command for command in _GROUP_COMMANDS}
    for command in _GROUP_COMMANDS:
        group = command.path.split()[0]
        for alias in command.aliases:
            table[f"{group} {alias}"] = command
    for name in _CONTAINER_GROUP:
        table[f"container {name}"] = TOP_LEVEL[name]
    for name in _IMAGE_GROUP:
        table[f"image {name}"] = TOP_LEVEL[name]
    for group, name, target in _ALIASES:
        table[f"{group} {name}"] = TOP_LEVEL[target]
    return table


GROUPED = _group_table()


def find(words: list[str]) -> tuple[Command | None, int]:
    """The command that the first words name, and how many words it took."""
    if not words:
        return None, 0
    if words[0] in GROUPS:
        if len(words) > 1 and f"{words[0]} {words[1]}" in GROUPED:
            return GROUPED[f"{words[0]} {words[1]}"], 2
        return None, 1
    return TOP_LEVEL.get(words[0]), 1


def group_members(group: str) -> dict[str, Command]:
    return {path.split()[1]: command for path, command in GROUPED.items() if path.split()[0] == group}


GLOBAL_FLAGS = [
    F("-H --host", LIST, "Daemon socket to connect to"),
    F("-D --debug", BOOL, "Enable debug mode"),
    F("-l --log-level", STR, 'Set the logging level ("debug", "info", "warn", "error", "fatal")'),
    F("--config", STR, "Location of client config files"),
    F("-c --context", STR, "Name of the context to use"),
    F("-v --version", BOOL, "Print version information and quit"),
]
