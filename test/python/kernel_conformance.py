"""jupyter_kernel_test's conformance suite against the gradcam-ts kernelspec.

Samples are what tslab supports: it prints a cell's last value to stdout (no execute_result),
reports errors on stderr with an error execute_reply, completes and inspects TypeScript.
Usage: kernel_conformance.py  (JUPYTER_PATH and GRADCAM_KERNEL_WORKDIR set by the mocha fixture)
"""
import os
import unittest

import jupyter_kernel_test
from jupyter_client.manager import start_new_kernel
from jupyter_kernel_test.msgspec_v5 import validate_message

WORKDIR = os.environ["GRADCAM_KERNEL_WORKDIR"]


class GradcamTsKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = os.environ.get("GRADCAM_KERNEL_NAME", "gradcam-ts")
    language_name = "typescript"
    file_extension = ".ts"

    code_hello_world = 'console.log("hello, world")'
    code_stderr = 'console.error("some error")'
    complete_code_samples = ["1 + 1", "const x = 3;", "function f() { return 1; }"]
    incomplete_code_samples = ["function f() {", "const a = [1,"]
    completion_samples = [{"text": "Math.fl", "matches": {"floor"}}]
    code_inspect_sample = "Math.max"
    code_display_data = [
        {"code": 'import * as tslab from "tslab"; tslab.display.html("<b>hi</b>")', "mime": "text/html"},
    ]

    @classmethod
    def setUpClass(cls):
        # As the base class, but with the kernel's cwd where node_modules/gradcam-ts resolves.
        cls.km, cls.kc = start_new_kernel(kernel_name=cls.kernel_name, cwd=WORKDIR, startup_timeout=90)

    def test_error_reply_and_stderr(self):
        """tslab reports a failing cell on stderr; the reply is a spec-valid error reply."""
        self.flush_channels()
        reply, output_msgs = self.execute_helper('throw new Error("kaboom")')
        self.assertEqual(reply["content"]["status"], "error")
        self.assertIn("kaboom", reply["content"]["evalue"])
        self.assertTrue(any(m["msg_type"] == "stream" and m["content"]["name"] == "stderr" and "kaboom" in m["content"]["text"]
                            for m in output_msgs))

    def test_type_error_is_an_error(self):
        self.flush_channels()
        reply, output_msgs = self.execute_helper('const n: number = "not a number";')
        self.assertEqual(reply["content"]["status"], "error")
        self.assertTrue(any("not assignable" in m["content"].get("text", "") for m in output_msgs))

    def test_comm_info(self):
        self.flush_channels()
        msg_id = self.kc.comm_info(target_name="jupyter.widget")
        reply = self.kc.get_shell_msg(timeout=jupyter_kernel_test.TIMEOUT)
        validate_message(reply, "comm_info_reply", msg_id)
        self.assertEqual(reply["content"]["comms"], {})

    def test_state_persists_between_cells(self):
        self.flush_channels()
        self.execute_helper("let counter = 41;")
        reply, output_msgs = self.execute_helper("counter + 1")
        self.assertEqual(reply["content"]["status"], "ok")
        self.assertIn("42", "".join(m["content"].get("text", "") for m in output_msgs))


if __name__ == "__main__":
    unittest.main(verbosity=2)
