{
	"patcher": {
		"fileversion": 1,
		"appversion": {
			"major": 8,
			"minor": 5,
			"revision": 0,
			"architecture": "x64",
			"modernui": 1
		},
		"classnamespace": "box",
		"rect": [40.0, 80.0, 1780.0, 1500.0],
		"gridsize": [15.0, 15.0],
		"description": "v2m-bridge client: OSC to the daemon, jit.movie transport, live Jitter features, MIDI in",
		"boxes": [
			{
				"box": {
					"id": "obj-1",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [20.0, 10.0, 1100.0, 20.0],
					"text": "v2m-bridge client for Max 8/9 - start the daemon first:  v2m-bridge serve   (OSC in on UDP 127.0.0.1:9000, replies to this patch on 9001; see max_patch/README.md)",
					"fontface": 1
				}
			},
			{
				"box": {
					"id": "obj-2",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [20.0, 35.0, 640.0, 35.0],
					"text": "1. CONNECTION: everything sent to [s v2m.osc] goes to the daemon. /v2m/hello registers this patch for replies on UDP 9001 (click it again after restarting the daemon).",
					"linecount": 2
				}
			},
			{
				"box": {
					"id": "obj-3",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": ["bang"],
					"patching_rect": [20.0, 80.0, 70.0, 22.0],
					"text": "loadbang"
				}
			},
			{
				"box": {
					"id": "obj-4",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["bang", "bang"],
					"patching_rect": [20.0, 110.0, 49.0, 22.0],
					"text": "t b b"
				}
			},
			{
				"box": {
					"id": "obj-5",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [20.0, 145.0, 147.0, 22.0],
					"text": "/v2m/hello max 9001"
				}
			},
			{
				"box": {
					"id": "obj-6",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [170.0, 145.0, 91.0, 22.0],
					"text": "/v2m/status"
				}
			},
			{
				"box": {
					"id": "obj-7",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [20.0, 180.0, 77.0, 22.0],
					"text": "s v2m.osc"
				}
			},
			{
				"box": {
					"id": "obj-8",
					"maxclass": "newobj",
					"numinlets": 0,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [280.0, 80.0, 77.0, 22.0],
					"text": "r v2m.osc"
				}
			},
			{
				"box": {
					"id": "obj-9",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [280.0, 110.0, 168.0, 22.0],
					"text": "udpsend 127.0.0.1 9000"
				}
			},
			{
				"box": {
					"id": "obj-10",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [470.0, 110.0, 87.0, 20.0],
					"text": "all OSC out"
				}
			},
			{
				"box": {
					"id": "obj-11",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [20.0, 225.0, 119.0, 22.0],
					"text": "udpreceive 9001"
				}
			},
			{
				"box": {
					"id": "obj-12",
					"maxclass": "newobj",
					"numinlets": 7,
					"numoutlets": 7,
					"outlettype": ["", "", "", "", "", "", ""],
					"patching_rect": [20.0, 255.0, 518.0, 22.0],
					"text": "route /v2m/chord /v2m/progress /v2m/ready /v2m/error /v2m/status /v2m/ok"
				}
			},
			{
				"box": {
					"id": "obj-13",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [20.0, 295.0, 104.0, 22.0],
					"text": "prepend set"
				}
			},
			{
				"box": {
					"id": "obj-14",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [130.0, 295.0, 104.0, 22.0],
					"text": "prepend set"
				}
			},
			{
				"box": {
					"id": "obj-15",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [240.0, 295.0, 104.0, 22.0],
					"text": "prepend set ready"
				}
			},
			{
				"box": {
					"id": "obj-16",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [350.0, 295.0, 104.0, 22.0],
					"text": "prepend set"
				}
			},
			{
				"box": {
					"id": "obj-17",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [460.0, 295.0, 104.0, 22.0],
					"text": "prepend set"
				}
			},
			{
				"box": {
					"id": "obj-18",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [570.0, 295.0, 104.0, 22.0],
					"text": "prepend set ok"
				}
			},
			{
				"box": {
					"id": "obj-19",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [680.0, 295.0, 140.0, 22.0],
					"text": "print v2m-unrouted"
				}
			},
			{
				"box": {
					"id": "obj-20",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [20.0, 342.0, 110.0, 20.0],
					"text": "current chord"
				}
			},
			{
				"box": {
					"id": "obj-21",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [135.0, 340.0, 300.0, 22.0],
					"text": ""
				}
			},
			{
				"box": {
					"id": "obj-22",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [20.0, 372.0, 110.0, 20.0],
					"text": "progress / ready"
				}
			},
			{
				"box": {
					"id": "obj-23",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [135.0, 370.0, 420.0, 22.0],
					"text": ""
				}
			},
			{
				"box": {
					"id": "obj-24",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [20.0, 402.0, 110.0, 20.0],
					"text": "last error"
				}
			},
			{
				"box": {
					"id": "obj-25",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [135.0, 400.0, 640.0, 22.0],
					"text": ""
				}
			},
			{
				"box": {
					"id": "obj-26",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [20.0, 432.0, 110.0, 20.0],
					"text": "daemon status"
				}
			},
			{
				"box": {
					"id": "obj-27",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [135.0, 430.0, 420.0, 22.0],
					"text": ""
				}
			},
			{
				"box": {
					"id": "obj-28",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [20.0, 462.0, 110.0, 20.0],
					"text": "last ok"
				}
			},
			{
				"box": {
					"id": "obj-29",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [135.0, 460.0, 300.0, 22.0],
					"text": ""
				}
			},
			{
				"box": {
					"id": "obj-30",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [20.0, 492.0, 640.0, 35.0],
					"text": "Replies the daemon sends here: /v2m/chord, /v2m/progress, /v2m/ready, /v2m/error, /v2m/status (~10 Hz), /v2m/ok.",
					"linecount": 2
				}
			},
			{
				"box": {
					"id": "obj-31",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [820.0, 35.0, 640.0, 35.0],
					"text": "2. VIDEO: choose a file; it is loaded into jit.movie (section 3) and its OS path is kept for offline scoring.",
					"linecount": 2
				}
			},
			{
				"box": {
					"id": "obj-32",
					"maxclass": "button",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": ["bang"],
					"patching_rect": [820.0, 80.0, 24.0, 24.0],
					"parameter_enable": 0
				}
			},
			{
				"box": {
					"id": "obj-33",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [850.0, 82.0, 100.0, 20.0],
					"text": "Open video..."
				}
			},
			{
				"box": {
					"id": "obj-34",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["", "bang"],
					"patching_rect": [820.0, 115.0, 84.0, 22.0],
					"text": "opendialog"
				}
			},
			{
				"box": {
					"id": "obj-35",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["", ""],
					"patching_rect": [820.0, 145.0, 49.0, 22.0],
					"text": "t l l"
				}
			},
			{
				"box": {
					"id": "obj-36",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [1020.0, 150.0, 63.0, 22.0],
					"text": "read $1"
				}
			},
			{
				"box": {
					"id": "obj-37",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [1100.0, 150.0, 91.0, 22.0],
					"text": "s v2m.movie"
				}
			},
			{
				"box": {
					"id": "obj-38",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["", "int"],
					"patching_rect": [820.0, 180.0, 175.0, 22.0],
					"text": "conformpath native boot"
				}
			},
			{
				"box": {
					"id": "obj-39",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [1000.0, 240.0, 150.0, 35.0],
					"text": "Max path -> OS path\n(/Users/... or C:\\...)",
					"linecount": 2
				}
			},
			{
				"box": {
					"id": "obj-40",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [820.0, 215.0, 175.0, 22.0],
					"text": "prepend /v2m/video/open"
				}
			},
			{
				"box": {
					"id": "obj-41",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [1120.0, 180.0, 91.0, 22.0],
					"text": "prepend set"
				}
			},
			{
				"box": {
					"id": "obj-42",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [1120.0, 210.0, 300.0, 22.0],
					"text": ""
				}
			},
			{
				"box": {
					"id": "obj-43",
					"maxclass": "button",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": ["bang"],
					"patching_rect": [820.0, 280.0, 24.0, 24.0],
					"parameter_enable": 0
				}
			},
			{
				"box": {
					"id": "obj-44",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [850.0, 278.0, 470.0, 50.0],
					"text": "Score whole video (offline): the daemon analyses the file and composes;\nwatch progress, then press Play in section 3 (the music follows the movie's time).",
					"linecount": 3
				}
			},
			{
				"box": {
					"id": "obj-45",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 2,
					"outlettype": ["", ""],
					"patching_rect": [820.0, 335.0, 56.0, 22.0],
					"text": "zl reg"
				}
			},
			{
				"box": {
					"id": "obj-46",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [820.0, 365.0, 77.0, 22.0],
					"text": "s v2m.osc"
				}
			},
			{
				"box": {
					"id": "obj-47",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [20.0, 545.0, 580.0, 35.0],
					"text": "3. PLAYBACK: Play runs jit.movie; each frame its time (gettime / timescale) goes to the daemon as Reaper-style /time, with /play 1 and /stop 1 (not sent while Live is on).",
					"linecount": 2
				}
			},
			{
				"box": {
					"id": "obj-48",
					"maxclass": "toggle",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": ["int"],
					"patching_rect": [20.0, 590.0, 24.0, 24.0],
					"parameter_enable": 0
				}
			},
			{
				"box": {
					"id": "obj-49",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [48.0, 592.0, 40.0, 20.0],
					"text": "Play"
				}
			},
			{
				"box": {
					"id": "obj-50",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["int", "int"],
					"patching_rect": [20.0, 625.0, 49.0, 22.0],
					"text": "t i i"
				}
			},
			{
				"box": {
					"id": "obj-51",
					"maxclass": "newobj",
					"numinlets": 3,
					"numoutlets": 3,
					"outlettype": ["bang", "bang", ""],
					"patching_rect": [140.0, 655.0, 63.0, 22.0],
					"text": "sel 1 0"
				}
			},
			{
				"box": {
					"id": "obj-52",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [140.0, 690.0, 49.0, 22.0],
					"text": "start"
				}
			},
			{
				"box": {
					"id": "obj-53",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [190.0, 690.0, 42.0, 22.0],
					"text": "stop"
				}
			},
			{
				"box": {
					"id": "obj-54",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [250.0, 690.0, 63.0, 22.0],
					"text": "/play 1"
				}
			},
			{
				"box": {
					"id": "obj-55",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [320.0, 690.0, 63.0, 22.0],
					"text": "/stop 1"
				}
			},
			{
				"box": {
					"id": "obj-56",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [140.0, 725.0, 91.0, 22.0],
					"text": "s v2m.movie"
				}
			},
			{
				"box": {
					"id": "obj-57",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": ["bang"],
					"patching_rect": [20.0, 690.0, 77.0, 22.0],
					"text": "qmetro 33"
				}
			},
			{
				"box": {
					"id": "obj-58",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 3,
					"outlettype": ["bang", "bang", "bang"],
					"patching_rect": [20.0, 760.0, 63.0, 22.0],
					"text": "t b b b"
				}
			},
			{
				"box": {
					"id": "obj-59",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [140.0, 795.0, 63.0, 22.0],
					"text": "gettime"
				}
			},
			{
				"box": {
					"id": "obj-60",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [80.0, 830.0, 91.0, 22.0],
					"text": "s v2m.movie"
				}
			},
			{
				"box": {
					"id": "obj-61",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [220.0, 755.0, 330.0, 50.0],
					"text": "per frame, right to left:\n1 ask the time, 2 output the frame (features),\n3 send the frame's time (/time and /v2m/live/frame)",
					"linecount": 3
				}
			},
			{
				"box": {
					"id": "obj-62",
					"maxclass": "newobj",
					"numinlets": 0,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [20.0, 870.0, 91.0, 22.0],
					"text": "r v2m.movie"
				}
			},
			{
				"box": {
					"id": "obj-63",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["jit_matrix", ""],
					"patching_rect": [20.0, 900.0, 224.0, 22.0],
					"text": "jit.movie @autostart 0 @loop 0"
				}
			},
			{
				"box": {
					"id": "obj-64",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["", ""],
					"patching_rect": [20.0, 935.0, 49.0, 22.0],
					"text": "t l l"
				}
			},
			{
				"box": {
					"id": "obj-65",
					"maxclass": "jit.pwindow",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["", ""],
					"patching_rect": [280.0, 860.0, 192.0, 108.0]
				}
			},
			{
				"box": {
					"id": "obj-66",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [20.0, 970.0, 98.0, 22.0],
					"text": "s v2m.frames"
				}
			},
			{
				"box": {
					"id": "obj-67",
					"maxclass": "newobj",
					"numinlets": 4,
					"numoutlets": 4,
					"outlettype": ["", "", "", ""],
					"patching_rect": [140.0, 970.0, 189.0, 22.0],
					"text": "route time timescale read"
				}
			},
			{
				"box": {
					"id": "obj-68",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": ["float"],
					"patching_rect": [140.0, 1005.0, 56.0, 22.0],
					"text": "/ 600."
				}
			},
			{
				"box": {
					"id": "obj-69",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [200.0, 1007.0, 250.0, 20.0],
					"text": "movie time units / timescale = seconds"
				}
			},
			{
				"box": {
					"id": "obj-70",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["bang", "bang"],
					"patching_rect": [460.0, 1005.0, 49.0, 22.0],
					"text": "t b b"
				}
			},
			{
				"box": {
					"id": "obj-71",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [460.0, 1040.0, 98.0, 22.0],
					"text": "gettimescale"
				}
			},
			{
				"box": {
					"id": "obj-72",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [460.0, 1070.0, 91.0, 22.0],
					"text": "s v2m.movie"
				}
			},
			{
				"box": {
					"id": "obj-73",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [460.0, 1105.0, 112.0, 22.0],
					"text": "s v2m.newmovie"
				}
			},
			{
				"box": {
					"id": "obj-74",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["float", "float"],
					"patching_rect": [140.0, 1040.0, 49.0, 22.0],
					"text": "t f f"
				}
			},
			{
				"box": {
					"id": "obj-75",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": ["float"],
					"patching_rect": [20.0, 1080.0, 30.0, 22.0],
					"text": "f"
				}
			},
			{
				"box": {
					"id": "obj-76",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [140.0, 1075.0, 77.0, 22.0],
					"text": "s v2m.now"
				}
			},
			{
				"box": {
					"id": "obj-77",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["float", "float"],
					"patching_rect": [20.0, 1110.0, 49.0, 22.0],
					"text": "t f f"
				}
			},
			{
				"box": {
					"id": "obj-78",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [20.0, 1145.0, 126.0, 22.0],
					"text": "s v2m.frame.time"
				}
			},
			{
				"box": {
					"id": "obj-79",
					"maxclass": "flonum",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["", "bang"],
					"patching_rect": [170.0, 1110.0, 60.0, 22.0],
					"parameter_enable": 0
				}
			},
			{
				"box": {
					"id": "obj-80",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [235.0, 1112.0, 100.0, 20.0],
					"text": "media time (s)"
				}
			},
			{
				"box": {
					"id": "obj-81",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [140.0, 1180.0, 105.0, 22.0],
					"text": "prepend /time"
				}
			},
			{
				"box": {
					"id": "obj-82",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [140.0, 1215.0, 42.0, 22.0],
					"text": "gate"
				}
			},
			{
				"box": {
					"id": "obj-83",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [140.0, 1250.0, 77.0, 22.0],
					"text": "s v2m.osc"
				}
			},
			{
				"box": {
					"id": "obj-84",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [280.0, 1180.0, 30.0, 22.0],
					"text": "1"
				}
			},
			{
				"box": {
					"id": "obj-85",
					"maxclass": "newobj",
					"numinlets": 0,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [320.0, 1180.0, 154.0, 22.0],
					"text": "r v2m.transport.gate"
				}
			},
			{
				"box": {
					"id": "obj-86",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [220.0, 1217.0, 250.0, 20.0],
					"text": "open at load; closed while Live is on"
				}
			},
			{
				"box": {
					"id": "obj-87",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [620.0, 545.0, 640.0, 35.0],
					"text": "4. LIVE: frame features as in the daemon's live interface (64x36 frame, values / 255): luma, motion = mean |luma - previous luma|, r g b means, cut = motion >= 0.12 (at most one per 0.5 s of media time)",
					"linecount": 2
				}
			},
			{
				"box": {
					"id": "obj-88",
					"maxclass": "toggle",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": ["int"],
					"patching_rect": [620.0, 605.0, 24.0, 24.0],
					"parameter_enable": 0
				}
			},
			{
				"box": {
					"id": "obj-89",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [648.0, 607.0, 40.0, 20.0],
					"text": "Live"
				}
			},
			{
				"box": {
					"id": "obj-90",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 3,
					"outlettype": ["int", "int", "int"],
					"patching_rect": [620.0, 640.0, 63.0, 22.0],
					"text": "t i i i"
				}
			},
			{
				"box": {
					"id": "obj-91",
					"maxclass": "newobj",
					"numinlets": 3,
					"numoutlets": 3,
					"outlettype": ["bang", "bang", ""],
					"patching_rect": [820.0, 670.0, 63.0, 22.0],
					"text": "sel 1 0"
				}
			},
			{
				"box": {
					"id": "obj-92",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [820.0, 705.0, 168.0, 22.0],
					"text": "/v2m/live/start 0.1 1."
				}
			},
			{
				"box": {
					"id": "obj-93",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [990.0, 705.0, 112.0, 22.0],
					"text": "/v2m/live/stop"
				}
			},
			{
				"box": {
					"id": "obj-94",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [820.0, 732.0, 180.0, 20.0],
					"text": "latency 0.1 s, timeout 1 s"
				}
			},
			{
				"box": {
					"id": "obj-95",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [820.0, 760.0, 77.0, 22.0],
					"text": "s v2m.osc"
				}
			},
			{
				"box": {
					"id": "obj-96",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": ["int"],
					"patching_rect": [620.0, 705.0, 42.0, 22.0],
					"text": "== 0"
				}
			},
			{
				"box": {
					"id": "obj-97",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [620.0, 740.0, 154.0, 22.0],
					"text": "s v2m.transport.gate"
				}
			},
			{
				"box": {
					"id": "obj-98",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["jit_matrix", ""],
					"patching_rect": [620.0, 800.0, 245.0, 22.0],
					"text": "jit.matrix 4 char 64 36 @interp 1"
				}
			},
			{
				"box": {
					"id": "obj-99",
					"maxclass": "newobj",
					"numinlets": 0,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [620.0, 765.0, 98.0, 22.0],
					"text": "r v2m.frames"
				}
			},
			{
				"box": {
					"id": "obj-100",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["", ""],
					"patching_rect": [620.0, 835.0, 49.0, 22.0],
					"text": "t l l"
				}
			},
			{
				"box": {
					"id": "obj-101",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 4,
					"outlettype": ["", "", "", ""],
					"patching_rect": [950.0, 870.0, 56.0, 22.0],
					"text": "jit.3m"
				}
			},
			{
				"box": {
					"id": "obj-102",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [1010.0, 872.0, 160.0, 20.0],
					"text": "mean of A R G B planes"
				}
			},
			{
				"box": {
					"id": "obj-103",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 4,
					"outlettype": ["float", "float", "float", "float"],
					"patching_rect": [950.0, 905.0, 112.0, 22.0],
					"text": "unpack f f f f"
				}
			},
			{
				"box": {
					"id": "obj-104",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": ["float"],
					"patching_rect": [950.0, 940.0, 56.0, 22.0],
					"text": "/ 255."
				}
			},
			{
				"box": {
					"id": "obj-105",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": ["float"],
					"patching_rect": [1010.0, 940.0, 56.0, 22.0],
					"text": "/ 255."
				}
			},
			{
				"box": {
					"id": "obj-106",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": ["float"],
					"patching_rect": [1070.0, 940.0, 56.0, 22.0],
					"text": "/ 255."
				}
			},
			{
				"box": {
					"id": "obj-107",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["jit_matrix", ""],
					"patching_rect": [620.0, 870.0, 98.0, 22.0],
					"text": "jit.rgb2luma"
				}
			},
			{
				"box": {
					"id": "obj-108",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 4,
					"outlettype": ["bang", "", "", ""],
					"patching_rect": [620.0, 905.0, 77.0, 22.0],
					"text": "t b l l l"
				}
			},
			{
				"box": {
					"id": "obj-109",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 4,
					"outlettype": ["", "", "", ""],
					"patching_rect": [870.0, 940.0, 56.0, 22.0],
					"text": "jit.3m"
				}
			},
			{
				"box": {
					"id": "obj-110",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": ["float"],
					"patching_rect": [870.0, 975.0, 56.0, 22.0],
					"text": "/ 255."
				}
			},
			{
				"box": {
					"id": "obj-111",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 2,
					"outlettype": ["jit_matrix", ""],
					"patching_rect": [700.0, 975.0, 140.0, 22.0],
					"text": "jit.op @op absdiff"
				}
			},
			{
				"box": {
					"id": "obj-112",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["jit_matrix", ""],
					"patching_rect": [660.0, 940.0, 175.0, 22.0],
					"text": "jit.matrix 1 char 64 36"
				}
			},
			{
				"box": {
					"id": "obj-113",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [620.0, 940.0, 30.0, 22.0],
					"text": "1."
				}
			},
			{
				"box": {
					"id": "obj-114",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 4,
					"outlettype": ["", "", "", ""],
					"patching_rect": [700.0, 1010.0, 56.0, 22.0],
					"text": "jit.3m"
				}
			},
			{
				"box": {
					"id": "obj-115",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": ["float"],
					"patching_rect": [700.0, 1045.0, 56.0, 22.0],
					"text": "/ 255."
				}
			},
			{
				"box": {
					"id": "obj-116",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": ["float"],
					"patching_rect": [700.0, 1080.0, 42.0, 22.0],
					"text": "* 0."
				}
			},
			{
				"box": {
					"id": "obj-117",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [750.0, 1082.0, 420.0, 20.0],
					"text": "x 0 until a previous frame exists (motion 0 on the first frame)"
				}
			},
			{
				"box": {
					"id": "obj-118",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["float", "float"],
					"patching_rect": [700.0, 1115.0, 49.0, 22.0],
					"text": "t f f"
				}
			},
			{
				"box": {
					"id": "obj-119",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": ["int"],
					"patching_rect": [820.0, 1150.0, 63.0, 22.0],
					"text": ">= 0.12"
				}
			},
			{
				"box": {
					"id": "obj-120",
					"maxclass": "newobj",
					"numinlets": 3,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [820.0, 1185.0, 259.0, 22.0],
					"text": "expr $i1 && (abs($f2 - $f3) >= 0.5)"
				}
			},
			{
				"box": {
					"id": "obj-121",
					"maxclass": "newobj",
					"numinlets": 0,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [950.0, 1150.0, 77.0, 22.0],
					"text": "r v2m.now"
				}
			},
			{
				"box": {
					"id": "obj-122",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [1080.0, 1187.0, 360.0, 20.0],
					"text": "cut unless the last cut was < 0.5 s of media time ago"
				}
			},
			{
				"box": {
					"id": "obj-123",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["int", "int"],
					"patching_rect": [820.0, 1220.0, 49.0, 22.0],
					"text": "t i i"
				}
			},
			{
				"box": {
					"id": "obj-124",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 2,
					"outlettype": ["bang", ""],
					"patching_rect": [920.0, 1255.0, 49.0, 22.0],
					"text": "sel 1"
				}
			},
			{
				"box": {
					"id": "obj-125",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": ["float"],
					"patching_rect": [920.0, 1290.0, 30.0, 22.0],
					"text": "f"
				}
			},
			{
				"box": {
					"id": "obj-126",
					"maxclass": "newobj",
					"numinlets": 0,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [1020.0, 1220.0, 112.0, 22.0],
					"text": "r v2m.newmovie"
				}
			},
			{
				"box": {
					"id": "obj-127",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["bang", "bang"],
					"patching_rect": [1020.0, 1255.0, 49.0, 22.0],
					"text": "t b b"
				}
			},
			{
				"box": {
					"id": "obj-128",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [1020.0, 1290.0, 56.0, 22.0],
					"text": "-1000."
				}
			},
			{
				"box": {
					"id": "obj-129",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [1090.0, 1290.0, 30.0, 22.0],
					"text": "0."
				}
			},
			{
				"box": {
					"id": "obj-130",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [1130.0, 1292.0, 290.0, 20.0],
					"text": "new movie: no previous frame, no recent cut"
				}
			},
			{
				"box": {
					"id": "obj-131",
					"maxclass": "newobj",
					"numinlets": 7,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [620.0, 1330.0, 260.0, 22.0],
					"text": "pack f f f f f f f"
				}
			},
			{
				"box": {
					"id": "obj-132",
					"maxclass": "newobj",
					"numinlets": 0,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [620.0, 1295.0, 126.0, 22.0],
					"text": "r v2m.frame.time"
				}
			},
			{
				"box": {
					"id": "obj-133",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [890.0, 1332.0, 170.0, 20.0],
					"text": "t luma motion r g b cut"
				}
			},
			{
				"box": {
					"id": "obj-134",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [620.0, 1365.0, 175.0, 22.0],
					"text": "prepend /v2m/live/frame"
				}
			},
			{
				"box": {
					"id": "obj-135",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [620.0, 1400.0, 42.0, 22.0],
					"text": "gate"
				}
			},
			{
				"box": {
					"id": "obj-136",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [620.0, 1435.0, 77.0, 22.0],
					"text": "s v2m.osc"
				}
			},
			{
				"box": {
					"id": "obj-137",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [670.0, 1402.0, 150.0, 20.0],
					"text": "open while Live is on"
				}
			},
			{
				"box": {
					"id": "obj-138",
					"maxclass": "flonum",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["", "bang"],
					"patching_rect": [870.0, 1010.0, 60.0, 22.0],
					"parameter_enable": 0
				}
			},
			{
				"box": {
					"id": "obj-139",
					"maxclass": "flonum",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["", "bang"],
					"patching_rect": [750.0, 1150.0, 60.0, 22.0],
					"parameter_enable": 0
				}
			},
			{
				"box": {
					"id": "obj-140",
					"maxclass": "number",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["", "bang"],
					"patching_rect": [820.0, 1255.0, 60.0, 22.0],
					"parameter_enable": 0
				}
			},
			{
				"box": {
					"id": "obj-141",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [1270.0, 385.0, 470.0, 50.0],
					"text": "5. MIDI FROM THE DAEMON: double-click notein to pick the daemon's port\n(Windows: the loopMIDI port given to  v2m-bridge serve --midi-backend port:NAME)",
					"linecount": 3
				}
			},
			{
				"box": {
					"id": "obj-142",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 3,
					"outlettype": ["int", "int", "int"],
					"patching_rect": [1270.0, 445.0, 133.0, 22.0],
					"text": "notein v2m_bridge"
				}
			},
			{
				"box": {
					"id": "obj-143",
					"maxclass": "number",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["", "bang"],
					"patching_rect": [1270.0, 480.0, 60.0, 22.0],
					"parameter_enable": 0
				}
			},
			{
				"box": {
					"id": "obj-144",
					"maxclass": "number",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["", "bang"],
					"patching_rect": [1335.0, 480.0, 60.0, 22.0],
					"parameter_enable": 0
				}
			},
			{
				"box": {
					"id": "obj-145",
					"maxclass": "number",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["", "bang"],
					"patching_rect": [1400.0, 480.0, 60.0, 22.0],
					"parameter_enable": 0
				}
			},
			{
				"box": {
					"id": "obj-146",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [1270.0, 505.0, 50.0, 20.0],
					"text": "pitch"
				}
			},
			{
				"box": {
					"id": "obj-147",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [1335.0, 505.0, 60.0, 20.0],
					"text": "velocity"
				}
			},
			{
				"box": {
					"id": "obj-148",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [1400.0, 505.0, 200.0, 20.0],
					"text": "channel (1 chords, 2 arpeggio)"
				}
			},
			{
				"box": {
					"id": "obj-149",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [1270.0, 545.0, 470.0, 35.0],
					"text": "6. SETTINGS, used by the next /v2m/video/open or /v2m/live/start: click to send; edit to change",
					"linecount": 2
				}
			},
			{
				"box": {
					"id": "obj-150",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [1270.0, 660.0, 77.0, 22.0],
					"text": "s v2m.osc"
				}
			},
			{
				"box": {
					"id": "obj-151",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [1270.0, 590.0, 140.0, 22.0],
					"text": "/v2m/key \"D minor\""
				}
			},
			{
				"box": {
					"id": "obj-152",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [1410.0, 590.0, 91.0, 22.0],
					"text": "/v2m/seed 1"
				}
			},
			{
				"box": {
					"id": "obj-153",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [1510.0, 590.0, 126.0, 22.0],
					"text": "/v2m/emotion sad"
				}
			},
			{
				"box": {
					"id": "obj-154",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [1650.0, 590.0, 84.0, 22.0],
					"text": "/v2m/panic"
				}
			},
			{
				"box": {
					"id": "obj-155",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [1270.0, 620.0, 260.0, 20.0],
					"text": "/v2m/panic ends every sounding note"
				}
			},
			{
				"box": {
					"id": "obj-156",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [1270.0, 700.0, 170.0, 22.0],
					"text": "/v2m/transport/follow link"
				}
			},
			{
				"box": {
					"id": "obj-157",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [1450.0, 700.0, 150.0, 22.0],
					"text": "/v2m/transport/follow 1"
				}
			},
			{
				"box": {
					"id": "obj-158",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [1270.0, 730.0, 470.0, 48.0],
					"text": "Playing with others: 'follow link' joins the Ableton Link session (its tempo, bar lines and start/stop drive the music; /v2m/tempo then sets the session's tempo); 'follow 1' comes back to this patch's transport. Drum machines: start the daemon with --clock-out virtual for MIDI clock."
				}
			}
		],
		"lines": [
			{"patchline": {"source": ["obj-3", 0], "destination": ["obj-4", 0]}},
			{"patchline": {"source": ["obj-4", 0], "destination": ["obj-5", 0]}},
			{"patchline": {"source": ["obj-5", 0], "destination": ["obj-7", 0]}},
			{"patchline": {"source": ["obj-6", 0], "destination": ["obj-7", 0]}},
			{"patchline": {"source": ["obj-8", 0], "destination": ["obj-9", 0]}},
			{"patchline": {"source": ["obj-11", 0], "destination": ["obj-12", 0]}},
			{"patchline": {"source": ["obj-12", 0], "destination": ["obj-13", 0]}},
			{"patchline": {"source": ["obj-12", 1], "destination": ["obj-14", 0]}},
			{"patchline": {"source": ["obj-12", 2], "destination": ["obj-15", 0]}},
			{"patchline": {"source": ["obj-12", 3], "destination": ["obj-16", 0]}},
			{"patchline": {"source": ["obj-12", 4], "destination": ["obj-17", 0]}},
			{"patchline": {"source": ["obj-12", 5], "destination": ["obj-18", 0]}},
			{"patchline": {"source": ["obj-12", 6], "destination": ["obj-19", 0]}},
			{"patchline": {"source": ["obj-13", 0], "destination": ["obj-21", 0]}},
			{"patchline": {"source": ["obj-14", 0], "destination": ["obj-23", 0]}},
			{"patchline": {"source": ["obj-15", 0], "destination": ["obj-23", 0]}},
			{"patchline": {"source": ["obj-16", 0], "destination": ["obj-25", 0]}},
			{"patchline": {"source": ["obj-17", 0], "destination": ["obj-27", 0]}},
			{"patchline": {"source": ["obj-18", 0], "destination": ["obj-29", 0]}},
			{"patchline": {"source": ["obj-32", 0], "destination": ["obj-34", 0]}},
			{"patchline": {"source": ["obj-34", 0], "destination": ["obj-35", 0]}},
			{"patchline": {"source": ["obj-35", 1], "destination": ["obj-36", 0]}},
			{"patchline": {"source": ["obj-36", 0], "destination": ["obj-37", 0]}},
			{"patchline": {"source": ["obj-35", 0], "destination": ["obj-38", 0]}},
			{"patchline": {"source": ["obj-38", 0], "destination": ["obj-40", 0]}},
			{"patchline": {"source": ["obj-38", 0], "destination": ["obj-41", 0]}},
			{"patchline": {"source": ["obj-41", 0], "destination": ["obj-42", 0]}},
			{"patchline": {"source": ["obj-40", 0], "destination": ["obj-45", 1]}},
			{"patchline": {"source": ["obj-43", 0], "destination": ["obj-45", 0]}},
			{"patchline": {"source": ["obj-45", 0], "destination": ["obj-46", 0]}},
			{"patchline": {"source": ["obj-48", 0], "destination": ["obj-50", 0]}},
			{"patchline": {"source": ["obj-50", 1], "destination": ["obj-51", 0]}},
			{"patchline": {"source": ["obj-51", 0], "destination": ["obj-52", 0]}},
			{"patchline": {"source": ["obj-51", 0], "destination": ["obj-54", 0]}},
			{"patchline": {"source": ["obj-51", 1], "destination": ["obj-53", 0]}},
			{"patchline": {"source": ["obj-51", 1], "destination": ["obj-55", 0]}},
			{"patchline": {"source": ["obj-52", 0], "destination": ["obj-56", 0]}},
			{"patchline": {"source": ["obj-53", 0], "destination": ["obj-56", 0]}},
			{"patchline": {"source": ["obj-50", 0], "destination": ["obj-57", 0]}},
			{"patchline": {"source": ["obj-57", 0], "destination": ["obj-58", 0]}},
			{"patchline": {"source": ["obj-58", 2], "destination": ["obj-59", 0]}},
			{"patchline": {"source": ["obj-59", 0], "destination": ["obj-60", 0]}},
			{"patchline": {"source": ["obj-58", 1], "destination": ["obj-60", 0]}},
			{"patchline": {"source": ["obj-62", 0], "destination": ["obj-63", 0]}},
			{"patchline": {"source": ["obj-63", 0], "destination": ["obj-64", 0]}},
			{"patchline": {"source": ["obj-64", 1], "destination": ["obj-65", 0]}},
			{"patchline": {"source": ["obj-64", 0], "destination": ["obj-66", 0]}},
			{"patchline": {"source": ["obj-63", 1], "destination": ["obj-67", 0]}},
			{"patchline": {"source": ["obj-67", 0], "destination": ["obj-68", 0]}},
			{"patchline": {"source": ["obj-67", 1], "destination": ["obj-68", 1]}},
			{"patchline": {"source": ["obj-67", 2], "destination": ["obj-70", 0]}},
			{"patchline": {"source": ["obj-70", 1], "destination": ["obj-71", 0]}},
			{"patchline": {"source": ["obj-70", 0], "destination": ["obj-73", 0]}},
			{"patchline": {"source": ["obj-71", 0], "destination": ["obj-72", 0]}},
			{"patchline": {"source": ["obj-68", 0], "destination": ["obj-74", 0]}},
			{"patchline": {"source": ["obj-74", 1], "destination": ["obj-75", 1]}},
			{"patchline": {"source": ["obj-58", 0], "destination": ["obj-75", 0]}},
			{"patchline": {"source": ["obj-74", 0], "destination": ["obj-76", 0]}},
			{"patchline": {"source": ["obj-75", 0], "destination": ["obj-77", 0]}},
			{"patchline": {"source": ["obj-77", 0], "destination": ["obj-78", 0]}},
			{"patchline": {"source": ["obj-75", 0], "destination": ["obj-79", 0]}},
			{"patchline": {"source": ["obj-77", 1], "destination": ["obj-81", 0]}},
			{"patchline": {"source": ["obj-81", 0], "destination": ["obj-82", 1]}},
			{"patchline": {"source": ["obj-54", 0], "destination": ["obj-82", 1]}},
			{"patchline": {"source": ["obj-55", 0], "destination": ["obj-82", 1]}},
			{"patchline": {"source": ["obj-82", 0], "destination": ["obj-83", 0]}},
			{"patchline": {"source": ["obj-4", 1], "destination": ["obj-84", 0]}},
			{"patchline": {"source": ["obj-84", 0], "destination": ["obj-82", 0]}},
			{"patchline": {"source": ["obj-85", 0], "destination": ["obj-82", 0]}},
			{"patchline": {"source": ["obj-88", 0], "destination": ["obj-90", 0]}},
			{"patchline": {"source": ["obj-90", 2], "destination": ["obj-91", 0]}},
			{"patchline": {"source": ["obj-91", 0], "destination": ["obj-92", 0]}},
			{"patchline": {"source": ["obj-91", 1], "destination": ["obj-93", 0]}},
			{"patchline": {"source": ["obj-92", 0], "destination": ["obj-95", 0]}},
			{"patchline": {"source": ["obj-93", 0], "destination": ["obj-95", 0]}},
			{"patchline": {"source": ["obj-90", 0], "destination": ["obj-96", 0]}},
			{"patchline": {"source": ["obj-96", 0], "destination": ["obj-97", 0]}},
			{"patchline": {"source": ["obj-99", 0], "destination": ["obj-98", 0]}},
			{"patchline": {"source": ["obj-98", 0], "destination": ["obj-100", 0]}},
			{"patchline": {"source": ["obj-100", 1], "destination": ["obj-101", 0]}},
			{"patchline": {"source": ["obj-101", 1], "destination": ["obj-103", 0]}},
			{"patchline": {"source": ["obj-103", 1], "destination": ["obj-104", 0]}},
			{"patchline": {"source": ["obj-103", 2], "destination": ["obj-105", 0]}},
			{"patchline": {"source": ["obj-103", 3], "destination": ["obj-106", 0]}},
			{"patchline": {"source": ["obj-100", 0], "destination": ["obj-107", 0]}},
			{"patchline": {"source": ["obj-107", 0], "destination": ["obj-108", 0]}},
			{"patchline": {"source": ["obj-108", 3], "destination": ["obj-109", 0]}},
			{"patchline": {"source": ["obj-109", 1], "destination": ["obj-110", 0]}},
			{"patchline": {"source": ["obj-108", 2], "destination": ["obj-111", 0]}},
			{"patchline": {"source": ["obj-108", 1], "destination": ["obj-112", 0]}},
			{"patchline": {"source": ["obj-112", 0], "destination": ["obj-111", 1]}},
			{"patchline": {"source": ["obj-108", 0], "destination": ["obj-113", 0]}},
			{"patchline": {"source": ["obj-111", 0], "destination": ["obj-114", 0]}},
			{"patchline": {"source": ["obj-114", 1], "destination": ["obj-115", 0]}},
			{"patchline": {"source": ["obj-115", 0], "destination": ["obj-116", 0]}},
			{"patchline": {"source": ["obj-113", 0], "destination": ["obj-116", 1]}},
			{"patchline": {"source": ["obj-116", 0], "destination": ["obj-118", 0]}},
			{"patchline": {"source": ["obj-118", 1], "destination": ["obj-119", 0]}},
			{"patchline": {"source": ["obj-119", 0], "destination": ["obj-120", 0]}},
			{"patchline": {"source": ["obj-121", 0], "destination": ["obj-120", 1]}},
			{"patchline": {"source": ["obj-120", 0], "destination": ["obj-123", 0]}},
			{"patchline": {"source": ["obj-123", 1], "destination": ["obj-124", 0]}},
			{"patchline": {"source": ["obj-124", 0], "destination": ["obj-125", 0]}},
			{"patchline": {"source": ["obj-121", 0], "destination": ["obj-125", 1]}},
			{"patchline": {"source": ["obj-125", 0], "destination": ["obj-120", 2]}},
			{"patchline": {"source": ["obj-126", 0], "destination": ["obj-127", 0]}},
			{"patchline": {"source": ["obj-127", 0], "destination": ["obj-128", 0]}},
			{"patchline": {"source": ["obj-128", 0], "destination": ["obj-120", 2]}},
			{"patchline": {"source": ["obj-127", 1], "destination": ["obj-129", 0]}},
			{"patchline": {"source": ["obj-129", 0], "destination": ["obj-116", 1]}},
			{"patchline": {"source": ["obj-132", 0], "destination": ["obj-131", 0]}},
			{"patchline": {"source": ["obj-110", 0], "destination": ["obj-131", 1]}},
			{"patchline": {"source": ["obj-118", 0], "destination": ["obj-131", 2]}},
			{"patchline": {"source": ["obj-104", 0], "destination": ["obj-131", 3]}},
			{"patchline": {"source": ["obj-105", 0], "destination": ["obj-131", 4]}},
			{"patchline": {"source": ["obj-106", 0], "destination": ["obj-131", 5]}},
			{"patchline": {"source": ["obj-123", 0], "destination": ["obj-131", 6]}},
			{"patchline": {"source": ["obj-131", 0], "destination": ["obj-134", 0]}},
			{"patchline": {"source": ["obj-134", 0], "destination": ["obj-135", 1]}},
			{"patchline": {"source": ["obj-90", 1], "destination": ["obj-135", 0]}},
			{"patchline": {"source": ["obj-135", 0], "destination": ["obj-136", 0]}},
			{"patchline": {"source": ["obj-110", 0], "destination": ["obj-138", 0]}},
			{"patchline": {"source": ["obj-118", 0], "destination": ["obj-139", 0]}},
			{"patchline": {"source": ["obj-123", 0], "destination": ["obj-140", 0]}},
			{"patchline": {"source": ["obj-142", 0], "destination": ["obj-143", 0]}},
			{"patchline": {"source": ["obj-142", 1], "destination": ["obj-144", 0]}},
			{"patchline": {"source": ["obj-142", 2], "destination": ["obj-145", 0]}},
			{"patchline": {"source": ["obj-151", 0], "destination": ["obj-150", 0]}},
			{"patchline": {"source": ["obj-152", 0], "destination": ["obj-150", 0]}},
			{"patchline": {"source": ["obj-153", 0], "destination": ["obj-150", 0]}},
			{"patchline": {"source": ["obj-154", 0], "destination": ["obj-150", 0]}},
			{"patchline": {"source": ["obj-156", 0], "destination": ["obj-150", 0]}},
			{"patchline": {"source": ["obj-157", 0], "destination": ["obj-150", 0]}}
		],
		"autosave": 0
	}
}
