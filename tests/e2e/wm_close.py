#!/usr/bin/env python3
"""Asks a window to close the way a window manager's close button does: a WM_DELETE_WINDOW client
message (Xvfb has no window manager to send one). Usage: wm_close.py DISPLAY WINDOW_NAME"""
import ctypes
import ctypes.util
import sys

x = ctypes.cdll.LoadLibrary(ctypes.util.find_library("X11") or "libX11.so.6")
Window = Atom = ctypes.c_ulong
x.XOpenDisplay.restype = ctypes.c_void_p
x.XOpenDisplay.argtypes = [ctypes.c_char_p]
x.XDefaultRootWindow.restype = Window
x.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
x.XInternAtom.restype = Atom
x.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
x.XQueryTree.argtypes = [ctypes.c_void_p, Window, ctypes.POINTER(Window), ctypes.POINTER(Window),
                         ctypes.POINTER(ctypes.POINTER(Window)), ctypes.POINTER(ctypes.c_uint)]
x.XFetchName.argtypes = [ctypes.c_void_p, Window, ctypes.POINTER(ctypes.c_char_p)]
x.XSendEvent.argtypes = [ctypes.c_void_p, Window, ctypes.c_int, ctypes.c_long, ctypes.c_void_p]
x.XFlush.argtypes = [ctypes.c_void_p]


class ClientMessage(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("serial", ctypes.c_ulong), ("send_event", ctypes.c_int),
                ("display", ctypes.c_void_p), ("window", Window), ("message_type", Atom),
                ("format", ctypes.c_int), ("data", ctypes.c_long * 5)]


class XEvent(ctypes.Union):
    _fields_ = [("xclient", ClientMessage), ("pad", ctypes.c_long * 24)]


def find(dpy, win, name):
    title = ctypes.c_char_p()
    if x.XFetchName(dpy, win, ctypes.byref(title)) and title.value == name:
        return win
    root, parent, children, n = Window(), Window(), ctypes.POINTER(Window)(), ctypes.c_uint()
    if not x.XQueryTree(dpy, win, ctypes.byref(root), ctypes.byref(parent), ctypes.byref(children), ctypes.byref(n)):
        return None
    for i in range(n.value):
        found = find(dpy, children[i], name)
        if found:
            return found
    return None


def main():
    dpy = x.XOpenDisplay(sys.argv[1].encode())
    if not dpy:
        sys.exit(f"cannot open display {sys.argv[1]}")
    win = find(dpy, x.XDefaultRootWindow(dpy), sys.argv[2].encode())
    if not win:
        sys.exit(f"no window named {sys.argv[2]!r}")
    event = XEvent()
    event.xclient.type = 33  # ClientMessage
    event.xclient.window = win
    event.xclient.message_type = x.XInternAtom(dpy, b"WM_PROTOCOLS", 0)
    event.xclient.format = 32
    event.xclient.data[0] = x.XInternAtom(dpy, b"WM_DELETE_WINDOW", 0)
    x.XSendEvent(dpy, win, 0, 0, ctypes.byref(event))
    x.XFlush(dpy)


main()
